# read_run.R - read an lmsim HDF5 run in R with hdf5r (Debian r-cran-hdf5r).
#
# As a script:  Rscript analysis/R/read_run.R RUN.h5 [occupancy.png]
#   prints the run's metadata, headline table and programme table, and (with
#   a second argument) draws state occupancy over time as stacked areas.
# As a library: source("analysis/R/read_run.R"); run <- lmsim_read("RUN.h5")
#   run$meta, run$headline, run$programmes, run$occupancy (month x state counts),
#   run$referrals (one row per programme spell, /referrals);
#   lmsim_cohorts("RUN.h5", "ips", by = c("disabled"), horizon = 12): outcome
#   curves by months since referral, by group and arm, with 95 % intervals -
#   the table of Python's lmsim.cohorts (analysis/lmsim/cohorts.py).
#
# Counts and costs of run$programmes are for the represented population
# (x run$meta$scale); NAME_sim columns are the simulated persons'.
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
    represents = if ("represents" %in% h5attr_names(f)) as.numeric(h5attr(f, "represents"))
                 else as.numeric(h5attr(f, "n_persons")),
    n_months = as.integer(h5attr(f, "n_months")),
    start_month = h5attr(f, "start_month"),
    panel_mode = h5attr(f, "panel_mode")
  )
  meta$scale <- meta$represents / meta$n_persons
  headline <- f[["outcomes/headline"]][]
  programmes <- f[["outcomes/programmes"]][]
  if (nrow(programmes) > 0) {
    programmes$arm <- c("none", "treatment", "control")[programmes$arm + 1]
  }
  referrals <- if (f$exists("referrals")) lmsim_referrals_of(f) else NULL
  counts <- f[["aggregates/counts"]]
  states <- h5attr(counts, "state_names")
  a <- counts[, , , , , , ]                        # [age, min, dis, sex, region, state, month]
  occ <- apply(a, c(7, 6), sum)                     # [month, state]
  colnames(occ) <- states
  rownames(occ) <- 0:(nrow(occ) - 1)
  gaps <- t(f[["outcomes/employment_gaps"]][, ])    # [month, gap]
  colnames(gaps) <- h5attr(f[["outcomes/employment_gaps"]], "columns")
  list(meta = meta, headline = headline, programmes = programmes, occupancy = occ,
       gaps = gaps, referrals = referrals)
}

# /referrals of an open file as a data.frame with programme, arm and reason
# names (factors), the slot and the months waited for an offer (-1 none).
lmsim_referrals_of <- function(f) {
  ds <- f[["referrals"]]
  r <- ds[]
  n <- as.numeric(h5attr(f, "n_persons"))
  r$slot <- as.integer(r$person_id %% n)
  r$waited <- ifelse(r$offer_month >= 0, r$offer_month - r$referral_month, -1L)
  r$programme <- factor(h5attr(ds, "programme_names")[r$programme + 1],
                        levels = h5attr(ds, "programme_names"))
  r$arm <- factor(h5attr(ds, "arm_names")[r$arm + 1], levels = h5attr(ds, "arm_names"))
  r$reason <- factor(h5attr(ds, "reason_names")[r$reason + 1], levels = h5attr(ds, "reason_names"))
  r
}

# Wilson score interval of k successes in n trials.
lmsim_wilson <- function(k, n, z = 1.959963984540054) {
  n <- rep(n, length.out = length(k))
  p <- k / n
  d <- 1 + z^2 / n
  c <- (p + z^2 / (2 * n)) / d
  h <- z * sqrt(p * (1 - p) / n + z^2 / (4 * n^2)) / d
  low <- c - h
  high <- c + h
  low[!(n > 0)] <- NA_real_
  high[!(n > 0)] <- NA_real_
  list(low = low, high = high)
}

# Outcome curves of a programme's referral cohorts (as lmsim.cohorts in
# Python): the referrals whose follow-up is complete at `horizon` months
# (the run lasts that long past the origin and the person is still in the
# population), by group (`by`: sex, disabled, age_band, region, minority,
# qual, caring; disability and age band at the origin) and trial arm, for
# each month 0..horizon since the origin (origin "referral", or "offer": the
# month a place was offered): share in work, share who have reached 6
# consecutive months in work, mean earnings of those in work, with 95 %
# intervals (Wilson for shares, mean +/- z s.d. / sqrt(n) for earnings).
lmsim_cohorts <- function(path, programme, by = character(), horizon = 12,
                          origin = "referral", z = 1.959963984540054) {
  keys_ok <- c("sex", "disabled", "age_band", "region", "minority", "qual", "caring")
  stopifnot(all(by %in% keys_ok), origin %in% c("referral", "offer"))
  f <- H5File$new(path, mode = "r")
  on.exit(f$close_all())
  if (!f$exists("panel/state")) stop(path, " has no panel: cohorts need --panel full or sample")
  n_persons <- as.numeric(h5attr(f, "n_persons"))
  n_months <- as.integer(h5attr(f, "n_months"))
  represents <- if ("represents" %in% h5attr_names(f)) as.numeric(h5attr(f, "represents"))
                else n_persons
  fraction <- if (h5attr(f, "panel_mode") == "sample") as.numeric(h5attr(f, "sample_fraction"))
              else 1
  r <- lmsim_referrals_of(f)
  r <- r[as.character(r$programme) == programme, ]
  r$origin <- if (origin == "referral") r$referral_month else r$offer_month
  r <- r[r$origin >= 0 & r$origin + horizon <= n_months, ]
  slots <- f[["panel/person"]][]
  r$column <- match(r$slot, slots)
  r <- r[!is.na(r$column), ]
  cols <- sort(unique(r$column))
  read <- function(v) {                      # [column, month] -> [month + 1, column]
    if (length(cols) == 0) return(matrix(0L, n_months + 1, 0))
    x <- f[[paste0("panel/", v)]][cols, , drop = FALSE]
    x <- unclass(x)
    attributes(x) <- list(dim = c(length(cols), n_months + 1))
    t(x)
  }
  w <- match(r$column, cols)
  o <- r$origin
  pid <- read("person_id")
  keep <- pid[cbind(o + horizon + 1, w)] == r$person_id
  r <- r[keep, ]
  w <- w[keep]
  o <- o[keep]
  ms <- 0:horizon
  idx <- function() cbind(as.vector(outer(o, ms, "+")) + 1, rep(w, length(ms)))
  state <- matrix(read("state")[idx()], length(o), length(ms))
  sus <- matrix(read("sustained_months")[idx()], length(o), length(ms))
  earn <- matrix(as.numeric(read("earnings")[idx()]), length(o), length(ms))
  dis <- read("disabled")[cbind(o + 1, w)]
  emp <- state == 5 | state == 6
  s6 <- emp & sus >= 6
  if (length(o) > 0) s6 <- t(apply(s6, 1, cummax)) == 1
  if (length(ms) == 1 && length(o) > 0) s6 <- matrix(s6, ncol = 1)
  pg <- f[["persons"]]
  persons <- data.frame(id = pg[["id"]][], female = pg[["female"]][],
                        birth_month = pg[["birth_month"]][], region = pg[["region"]][],
                        minority = pg[["minority"]][], qual = pg[["qual"]][],
                        caring = pg[["caring"]][])
  persons <- persons[!duplicated(persons$id, fromLast = TRUE), ]
  who <- persons[match(r$person_id, persons$id), ]
  age <- (o - who$birth_month) %/% 12
  g <- data.frame(
    sex = factor(ifelse(who$female == 1, "female", "male"), levels = c("male", "female")),
    disabled = factor(ifelse(dis == 1, "disabled", "not_disabled"),
                      levels = c("not_disabled", "disabled")),
    age_band = factor(c("16-24", "25-34", "35-49", "50-64")[
      ifelse(age < 25, 1, ifelse(age < 35, 2, ifelse(age < 50, 3, 4)))],
      levels = c("16-24", "25-34", "35-49", "50-64")),
    region = h5attr(pg, "region_names")[who$region + 1],
    minority = who$minority, qual = who$qual, caring = who$caring,
    arm = r$arm)
  keys <- c(by, "arm")
  weight <- represents / n_persons / fraction
  out <- list()
  if (nrow(g) > 0) {
    groups <- split(seq_len(nrow(g)), g[keys], drop = TRUE, lex.order = TRUE)
    for (gi in groups) {
      n <- length(gi)
      e <- emp[gi, , drop = FALSE]
      k <- colSums(e)
      k6 <- colSums(s6[gi, , drop = FALSE])
      ee <- earn[gi, , drop = FALSE]
      ee[!e] <- NA
      mean <- colMeans(ee, na.rm = TRUE)
      sd <- apply(ee, 2, sd, na.rm = TRUE)
      half <- z * sd / sqrt(k)
      wi <- lmsim_wilson(k, n, z)
      ws <- lmsim_wilson(k6, n, z)
      d <- data.frame(programme = programme, stringsAsFactors = FALSE)
      for (key in keys) d[[key]] <- as.character(g[[key]][gi[1]])
      d <- d[rep(1, length(ms)), , drop = FALSE]
      d$months_since <- ms
      d$n <- n
      d$n_represented <- n * weight
      d$in_work <- k / n
      d$in_work_low <- wi$low
      d$in_work_high <- wi$high
      d$sustained_6 <- k6 / n
      d$sustained_6_low <- ws$low
      d$sustained_6_high <- ws$high
      d$n_in_work <- k
      d$mean_earnings <- ifelse(k > 0, mean, NA_real_)
      d$mean_earnings_low <- ifelse(k > 1, mean - half, NA_real_)
      d$mean_earnings_high <- ifelse(k > 1, mean + half, NA_real_)
      out[[length(out) + 1]] <- d
    }
  }
  res <- do.call(rbind, out)
  if (is.null(res)) return(data.frame())
  rownames(res) <- NULL
  res
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
  if (!is.null(run$referrals)) {
    cat(sprintf("referral history: %d spells\n", nrow(run$referrals)))
    print(table(run$referrals$programme, run$referrals$reason)[-1, , drop = FALSE])
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
