# read_run.R - read an lmsim HDF5 run in R with hdf5r (Debian r-cran-hdf5r).
#
# As a script:  Rscript analysis/R/read_run.R RUN.h5 [occupancy.png]
#   prints the run's metadata, headline table and programme table, and (with
#   a second argument) draws state occupancy over time as stacked areas.
# As a library: source("analysis/R/read_run.R"); run <- lmsim_read("RUN.h5")
#   run$meta, run$headline, run$programmes, run$occupancy (month x state counts).
#
# hdf5r reverses HDF5 dimensions: /aggregates/counts (month, state, region,
# sex, disabled, minority, age_band) reads as [age_band, minority, disabled,
# sex, region, state, month]. The seed is read from seed_str (R has no
# 64-bit integer). Layout: docs/output-format.md.
suppressPackageStartupMessages(library(hdf5r))
options(width = 150)

lmsim_read <- function(path) {
  f <- H5File$new(path, mode = "r")
  on.exit(f$close_all())
  meta <- list(
    scenario_name = h5attr(f, "scenario_name"),
    lmsim_version = h5attr(f, "lmsim_version"),
    seed = h5attr(f, "seed_str"),
    n_persons = as.numeric(h5attr(f, "n_persons")),
    n_months = as.integer(h5attr(f, "n_months")),
    start_month = h5attr(f, "start_month"),
    panel_mode = h5attr(f, "panel_mode")
  )
  headline <- f[["outcomes/headline"]][]
  programmes <- f[["outcomes/programmes"]][]
  if (nrow(programmes) > 0) {
    programmes$arm <- c("none", "treatment", "control")[programmes$arm + 1]
  }
  counts <- f[["aggregates/counts"]]
  states <- h5attr(counts, "state_names")
  a <- counts[, , , , , , ]                        # [age, min, dis, sex, region, state, month]
  occ <- apply(a, c(7, 6), sum)                     # [month, state]
  colnames(occ) <- states
  rownames(occ) <- 0:(nrow(occ) - 1)
  gaps <- t(f[["outcomes/employment_gaps"]][, ])    # [month, gap]
  colnames(gaps) <- h5attr(f[["outcomes/employment_gaps"]], "columns")
  list(meta = meta, headline = headline, programmes = programmes, occupancy = occ,
       gaps = gaps)
}

lmsim_plot_occupancy <- function(run, file) {
  occ <- run$occupancy / rowSums(run$occupancy) * 100
  cols <- c("#8c6d9e", "#b39cc7", "#d5c8e3", "#c9c9c9", "#e4804e", "#8fbbd9", "#2b6ca3")
  months <- as.integer(rownames(occ))
  png(file, width = 900, height = 500, type = "cairo")
  par(mar = c(4, 4, 3, 12), xpd = TRUE)
  plot(NA, xlim = range(months), ylim = c(0, 100), xlab = paste("month from", run$meta$start_month),
       ylab = "% of persons", main = paste("State occupancy:", run$meta$scenario_name))
  lower <- rep(0, length(months))
  for (s in seq_len(ncol(occ))) {
    upper <- lower + occ[, s]
    polygon(c(months, rev(months)), c(lower, rev(upper)), col = cols[s], border = NA)
    lower <- upper
  }
  legend("topright", inset = c(-0.3, 0), legend = rev(colnames(occ)), fill = rev(cols),
         bty = "n", cex = 0.8)
  invisible(dev.off())
}

if (!interactive() && sys.nframe() == 0L) {
  args <- commandArgs(trailingOnly = TRUE)
  if (length(args) < 1) {
    cat("usage: Rscript read_run.R RUN.h5 [occupancy.png]\n", file = stderr())
    quit(status = 2)
  }
  run <- lmsim_read(args[1])
  m <- run$meta
  cat(sprintf("%s: %s persons x %d months from %s, seed %s, lmsim %s\n", m$scenario_name,
              format(m$n_persons, big.mark = ","), m$n_months, m$start_month, m$seed,
              m$lmsim_version))
  h <- run$headline
  out <- data.frame(group = h$group, persons_end = h$persons_end,
                    employment_rate_start = round(100 * h$employment_rate_start, 1),
                    employment_rate_end = round(100 * h$employment_rate_end, 1),
                    unemployment_rate_end = round(100 * h$unemployment_rate_end, 1),
                    inactivity_rate_end = round(100 * h$inactivity_rate_end, 1),
                    mean_earnings_end = round(h$mean_earnings_end))
  print(out, row.names = FALSE)
  if (nrow(run$programmes) > 0) {
    p <- run$programmes
    print(p[, c("programme", "arm", "referrals", "starts", "job_entries", "sustained_6",
                "cost_total")], row.names = FALSE)
  }
  # machine-readable lines for tests: exact values of the "all" row
  cat(sprintf("CHECK employment_rate_end %.17g\n", h$employment_rate_end[1]))
  cat(sprintf("CHECK persons_end %d\n", as.integer(h$persons_end[1])))
  cat(sprintf("CHECK occupancy_end_employed_good %.17g\n",
              run$occupancy[nrow(run$occupancy), "employed_good"]))
  if (length(args) >= 2) {
    lmsim_plot_occupancy(run, args[2])
    cat("plot:", args[2], "\n")
  }
}
