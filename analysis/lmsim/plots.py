"""Plots of lmsim runs with matplotlib (Agg backend; PNG and SVG).

Every function returns a matplotlib Figure; with ``out="dir/name"`` it also
writes ``dir/name.png`` and ``dir/name.svg`` (see ``save``).
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .compare import _run  # noqa: E402
from .run import STATE_NAMES, Run  # noqa: E402
from .sweep import Sweep, is_sweep, t975  # noqa: E402

STATE_COLOURS = {
    "inactive_sick": "#8c6d9e", "inactive_caring": "#b39cc7", "inactive_student": "#d5c8e3",
    "inactive_other": "#c9c9c9", "unemployed": "#e4804e", "employed_poor": "#8fbbd9",
    "employed_good": "#2b6ca3",
}
STATE_LABELS = {
    "inactive_sick": "inactive: sick", "inactive_caring": "inactive: caring",
    "inactive_student": "inactive: student", "inactive_other": "inactive: other",
    "unemployed": "unemployed", "employed_poor": "employed (poor job)",
    "employed_good": "employed (good job)",
}
GROUP_TITLES = {"sex": "sex", "disabled": "disability", "minority": "ethnicity",
                "age_band": "age band", "region": "region"}


def save(fig, out, dpi=100):
    """Write fig as out.png and out.svg; returns the two paths."""
    d = os.path.dirname(out)
    if d:
        os.makedirs(d, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        p = "%s.%s" % (out, ext)
        fig.savefig(p, dpi=dpi, bbox_inches="tight")
        paths.append(p)
    return paths


def _finish(fig, out):
    if out:
        save(fig, out)
    return fig


def _dates(run):
    return run.dates().to_timestamp()


def occupancy(run, by=None, share=True, out=None):
    """Stacked areas of state occupancy by month, one panel per group of ``by``.

    by: None or an aggregate dimension: "sex", "disabled", "minority", "age_band", "region".
    share: shares of the group (True) or persons (False).
    """
    run = _run(run)
    occ = run.occupancy(by=by, share=share)
    x = _dates(run)
    groups = [None] if by is None else list(occ.index.get_level_values(1).unique())
    n = len(groups)
    ncol = min(n, 3)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol + 1.8, 3.2 * nrow), squeeze=False,
                             sharey=True)
    for i, g in enumerate(groups):
        ax = axes[i // ncol][i % ncol]
        sub = occ if g is None else occ.xs(g, level=1)
        ys = [sub[s].to_numpy(dtype=float) * (100 if share else 1) for s in STATE_NAMES]
        ax.stackplot(x, ys, colors=[STATE_COLOURS[s] for s in STATE_NAMES],
                     labels=[STATE_LABELS[s] for s in STATE_NAMES], linewidth=0)
        ax.set_title("all persons" if g is None else "%s: %s" % (GROUP_TITLES.get(by, by), g),
                     fontsize=10)
        ax.set_xlim(x[0], x[-1])
        if share:
            ax.set_ylim(0, 100)
        ax.tick_params(labelsize=8)
        for lab in ax.get_xticklabels():
            lab.set_rotation(30)
    for j in range(n, nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    axes[0][0].set_ylabel("% of persons" if share else "persons")
    h, lab = axes[0][0].get_legend_handles_labels()
    fig.legend(h[::-1], lab[::-1], loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
               frameon=False)
    fig.suptitle("Labour-state occupancy — %s" % run.scenario_name, fontsize=11)
    fig.tight_layout()
    return _finish(fig, out)


# (rate, numerator, denominator, title, scale): binomial bars from the
# simulated counts NAME_sim; rates over the referrals followed 12 months
PROGRAMME_PANELS = [
    ("any_job_12_rate", "any_job_12_sim", "followed_12_sim", "any job within 12 months (%)", 100),
    ("sustained_6_12_rate", "sustained_6_12_sim", "followed_12_sim",
     "sustained 6 months within 12 (%)", 100),
    ("good_entry_share", "good_entries_sim", "job_entries_sim", "good-job share of entries (%)",
     100),
    ("mean_earnings_12", None, "employed_12_sim", "earnings at 12 months (GBP/month)", 1),
    ("cost_per_sustained_6", None, "sustained_6_started_sim",
     "cost per starter's job sustained 6 months (GBP)", 1),
]


def programme_table(runs):
    """Programme rows of one or more runs, labelled (run, programme, arm)."""
    if not isinstance(runs, (list, tuple)):
        runs = [runs]
    parts = []
    for r in runs:
        if isinstance(r, Sweep) or (not isinstance(r, Run) and is_sweep(r)):
            parts.extend(_sweep_programmes(r if isinstance(r, Sweep) else Sweep(r)))
            continue
        r = _run(r)
        p = r.programmes()
        if not len(p):
            continue
        p = p.copy()
        p.insert(0, "scenario", r.scenario_name)
        parts.append(p)
    if not parts:
        return pd.DataFrame()
    df = pd.concat(parts, ignore_index=True)
    multi = df["scenario"].nunique() > 1
    df["label"] = [("%s\n" % s if multi else "") + prog + ("" if arm == "none" else " (%s)" % arm)
                   for s, prog, arm in zip(df.scenario, df.programme, df.arm)]
    return df


def _sweep_programmes(sw):
    """Per point: programme rows averaged over replicates, with t-interval half-widths
    (columns ci_<measure>) across replicates."""
    out = []
    for pt in sw.points:
        tabs = []
        for rep in sw.replicates:
            with sw.run(pt, rep) as r:
                p = r.programmes()
            if len(p):
                tabs.append(p)
        if not tabs:
            continue
        allp = pd.concat(tabs, ignore_index=True)
        num = [c for c in allp.columns if c not in ("programme", "arm")]
        g = allp.groupby(["programme", "arm"], sort=False)
        mean = g[num].mean().reset_index()
        n = g.size().to_numpy()
        sd = g[num].std(ddof=1).to_numpy()
        q = np.array([t975(int(k) - 1) if k > 1 else np.nan for k in n])
        for i, (col, *_rest) in enumerate(PROGRAMME_PANELS):
            j = num.index(col)
            mean["ci_" + col] = q * sd[:, j] / np.sqrt(n)
        mean.insert(0, "scenario", pt)
        out.append(mean)
    return out


def programmes(runs, out=None, z=1.96):
    """Work First vs IPS (every programme) side by side from /outcomes/programmes.

    Five panels: job entries per referral, sustained 6 months per referral,
    good-job share of entries, earnings at 12 months, cost per sustained job.
    Rates carry binomial 95 % intervals within the run; for a sweep index
    every point is shown as the mean over its replicates with Student-t 95 %
    intervals over replicates (all five panels). ``runs``: a run, a sweep,
    or a list of them.
    """
    df = programme_table(runs)
    fig, axes = plt.subplots(1, len(PROGRAMME_PANELS), figsize=(3.1 * len(PROGRAMME_PANELS), 3.6))
    if not len(df):
        for ax in axes:
            ax.axis("off")
        axes[0].text(0, 0.5, "no programmes in these runs")
        return _finish(fig, out)
    palette = ["#2b6ca3", "#e4804e", "#59a14f", "#b07aa1", "#9c755f", "#76b7b2", "#edc948",
               "#ff9da7"]
    colours = {p: palette[i % len(palette)] for i, p in enumerate(df.programme.unique())}
    x = np.arange(len(df))
    for ax, (col, num, den, title, scale) in zip(axes, PROGRAMME_PANELS):
        if "ci_" + col in df.columns and df["ci_" + col].notna().all():
            # replicates (a sweep): mean over replicates, Student-t 95 % interval
            y = df[col].to_numpy(dtype=float) * scale
            err = df["ci_" + col].to_numpy(dtype=float) * scale
        elif num is not None:
            nn = df[den].to_numpy(dtype=float)
            p = np.where(nn > 0, df[num].to_numpy(dtype=float) / np.where(nn > 0, nn, 1), 0.0)
            se = np.sqrt(np.where(nn > 0, p * (1 - p) / np.where(nn > 0, nn, 1), 0.0))
            y, e = p * scale, z * se * scale
            err = np.vstack([np.minimum(e, y), np.minimum(e, scale - y)])  # clipped to [0, 1]
        else:
            y, err = df[col].to_numpy(dtype=float) * scale, None
        bars = ax.bar(x, y, yerr=err, capsize=3, color=[colours[p] for p in df.programme],
                      edgecolor="white")
        for i, arm in enumerate(df.arm):
            if arm == "control":
                bars[i].set_hatch("//")
                bars[i].set_alpha(0.6)
        ax.set_xticks(x)
        ax.set_xticklabels(df.label, fontsize=7, rotation=30, ha="right")
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle("Programmes side by side (bars: 95 %% intervals, %s)" % (
        "over replicates" if any(c.startswith("ci_") for c in df.columns) and
        df.filter(like="ci_").notna().all().all() else "binomial, within the run"), fontsize=10)
    fig.tight_layout()
    return _finish(fig, out)


def gaps(runs, out=None):
    """Employment gaps (disability, gender, ethnicity; points) over time, one line per run."""
    if not isinstance(runs, (list, tuple)):
        runs = [runs]
    runs = [_run(r) for r in runs]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), sharex=True)
    titles = {"disability": "disability gap (not disabled − disabled)",
              "gender": "gender gap (men − women)",
              "ethnicity": "ethnicity gap (white − minority)"}
    styles = ["-", "--", ":", "-."]
    for k, r in enumerate(runs):
        g = r.gaps()
        x = _dates(r)
        label = r.scenario_name if [q.scenario_name for q in runs].count(r.scenario_name) == 1 \
            else "%s (%s)" % (r.scenario_name, os.path.basename(r.path))
        for ax, col in zip(axes, ["disability", "gender", "ethnicity"]):
            ax.plot(x, g[col], styles[k % len(styles)], label=label, linewidth=1.6)
    for ax, col in zip(axes, ["disability", "gender", "ethnicity"]):
        ax.set_title(titles[col], fontsize=9)
        ax.set_ylabel("percentage points", fontsize=8)
        ax.tick_params(labelsize=8)
        for lab in ax.get_xticklabels():
            lab.set_rotation(30)
    axes[0].legend(fontsize=8, frameon=False)
    fig.suptitle("Employment-rate gaps by scenario", fontsize=10)
    fig.tight_layout()
    return _finish(fig, out)


def employment(runs, starts=(), labels=None, out=None):
    """The headline chart: employment rate (%) by month, one line per run, for
    all people and for disabled people (/aggregates/counts).

    starts: (simulation month, text) pairs marked by a vertical line and a
    label (the report marks the policy start); labels: one per run (default
    the scenario names).
    """
    if not isinstance(runs, (list, tuple)):
        runs = [runs]
    runs = [_run(r) for r in runs]
    labels = labels or [r.scenario_name for r in runs]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharex=True)
    styles = ["-", "--", ":", "-."]
    for k, (r, lab) in enumerate(zip(runs, labels)):
        agg = r.aggregates(by=["month", "disabled", "state"], earnings=False)
        emp = agg.state.isin([STATE_NAMES[i] for i in (5, 6)])
        x = _dates(r)
        for ax, sel in zip(axes, [None, "disabled"]):
            sub = agg if sel is None else agg[agg.disabled.astype(str) == sel]
            subemp = emp[sub.index]
            tot = sub.groupby("month")["count"].sum().to_numpy(dtype=float)
            num = sub[subemp].groupby("month")["count"].sum().reindex(
                range(len(tot)), fill_value=0).to_numpy(dtype=float)
            y = 100.0 * num / np.where(tot > 0, tot, np.nan)
            ax.plot(x, y, styles[k % len(styles)], label=lab, linewidth=1.8)
    for ax, title in zip(axes, ["All people", "Disabled people"]):
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("employment rate (%)", fontsize=9)
        ax.tick_params(labelsize=8)
        for lab in ax.get_xticklabels():
            lab.set_rotation(30)
        for month, text in starts:
            d = runs[0].dates([month]).to_timestamp()[0]
            ax.axvline(d, color="#a04000", linewidth=1.2, linestyle="--")
            ax.annotate(text, xy=(d, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -3), textcoords="offset points", ha="left", va="top",
                        fontsize=8, color="#a04000")
    axes[0].legend(fontsize=8, frameon=False, loc="lower left")
    fig.suptitle("Employment rate by scenario", fontsize=11)
    fig.tight_layout()
    return _finish(fig, out)


def flow(run, month_from, month_to, out=None, min_share=0.0005):
    """Sankey-style flow of persons between states from month_from to month_to.

    Left: states at month_from; right: states at month_to; bands between them
    have widths proportional to the number of persons (persons present in both
    months, from ``Run.transitions(..., counts=True)``). Bands thinner than
    ``min_share`` of all persons are not drawn.
    """
    run = _run(run)
    c = run.transitions(month_from, month_to, counts=True).to_numpy().astype(float)
    total = c.sum()
    fig, ax = plt.subplots(figsize=(8, 6))
    if total == 0:
        ax.axis("off")
        return _finish(fig, out)
    gap = 0.015 * total
    left = c.sum(axis=1)
    right = c.sum(axis=0)

    def positions(sizes):
        pos, y = [], 0.0
        for s in sizes:
            pos.append(y)
            y += s + (gap if s > 0 else 0)
        return np.array(pos)

    lpos, rpos = positions(left), positions(right)
    xl, xr, w = 0.0, 1.0, 0.06
    loff = lpos.copy()
    roff = rpos.copy()
    t = np.linspace(0, 1, 60)
    smooth = 3 * t ** 2 - 2 * t ** 3
    for i in range(7):
        for j in range(7):
            v = c[i, j]
            if v <= 0:
                continue
            y0a, y0b = loff[i], loff[i] + v
            y1a, y1b = roff[j], roff[j] + v
            loff[i] += v
            roff[j] += v
            if v < min_share * total:
                continue
            xs = xl + w + (xr - xl - 2 * w) * t
            lo = y0a + (y1a - y0a) * smooth
            hi = y0b + (y1b - y0b) * smooth
            ax.fill_between(xs, lo, hi, color=STATE_COLOURS[STATE_NAMES[i]], alpha=0.45,
                            linewidth=0)
    for k, s in enumerate(STATE_NAMES):
        col = STATE_COLOURS[s]
        if left[k] > 0:
            ax.add_patch(plt.Rectangle((xl, lpos[k]), w, left[k], color=col))
            ax.text(xl - 0.01, lpos[k] + left[k] / 2, "%s  %.1f%%" % (STATE_LABELS[s],
                                                                     100 * left[k] / total),
                    ha="right", va="center", fontsize=8)
        if right[k] > 0:
            ax.add_patch(plt.Rectangle((xr - w, rpos[k]), w, right[k], color=col))
            ax.text(xr + 0.01, rpos[k] + right[k] / 2, "%.1f%%  %s" % (100 * right[k] / total,
                                                                      STATE_LABELS[s]),
                    ha="left", va="center", fontsize=8)
    d = run.dates([month_from, month_to]).astype(str)
    ax.text(xl + w / 2, -0.03 * total, "month %d (%s)" % (month_from, d[0]), ha="center",
            va="top", fontsize=9)
    ax.text(xr - w / 2, -0.03 * total, "month %d (%s)" % (month_to, d[1]), ha="center",
            va="top", fontsize=9)
    ax.set_xlim(-0.45, 1.45)
    ax.set_ylim(max(lpos[-1] + left[-1], rpos[-1] + right[-1]) + gap, -0.08 * total)
    ax.axis("off")
    ax.set_title("Flows between labour states — %s (%d persons present in both months)"
                 % (run.scenario_name, int(total)), fontsize=10)
    fig.tight_layout()
    return _finish(fig, out)


IMPACT_PANELS = [("employment_months", "employment months", 1.0),
                 ("sustained_jobs", "jobs sustained 6 months", 1.0),
                 ("earnings_gbp", "earnings, GBP million", 1e-6),
                 ("benefit_months", "benefit months", 1.0)]


def impacts(table, groups=None, out=None):
    """Impacts of a comparison (``lmsim.compare(a, b, impacts=True)``): one
    panel per measure of IMPACT_PANELS, one bar per group (b - a, totals for
    the represented population) with its 95 % interval. ``groups``: the
    groups to show (default: every group of the table, "all" first)."""
    df = table[table.measure.isin([m for m, _, _ in IMPACT_PANELS])]
    if groups is None:
        groups = list(dict.fromkeys(df.group))
    fig, axes = plt.subplots(1, len(IMPACT_PANELS), figsize=(3.2 * len(IMPACT_PANELS),
                                                             0.9 + 0.32 * len(groups)))
    y = np.arange(len(groups))[::-1]
    for ax, (m, title, scale) in zip(axes, IMPACT_PANELS):
        rows = df[df.measure == m].set_index("group").reindex(groups)
        d = rows["diff"].to_numpy(dtype=float) * scale
        lo = rows.ci_low.to_numpy(dtype=float) * scale
        hi = rows.ci_high.to_numpy(dtype=float) * scale
        clear = (lo > 0) | (hi < 0)
        ax.barh(y, d, xerr=np.vstack([d - lo, hi - d]), capsize=2,
                color=np.where(clear, "#2b6ca3", "#b8c7d6"), edgecolor="white")
        ax.axvline(0, color="#444", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels(groups if ax is axes[0] else [], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    a = table.attrs
    fig.suptitle("%s - %s: %s (bars: 95 %% intervals, %s; pale: includes 0)"
                 % (a.get("b", "B"), a.get("a", "A"), a.get("note", ""), a.get("basis", "")),
                 fontsize=9)
    fig.tight_layout()
    return _finish(fig, out)


def close(fig):
    plt.close(fig)
