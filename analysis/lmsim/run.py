"""The Run object: metadata, tables and panel of one lmsim HDF5 file.

Layout: docs/output-format.md (authoritative). Everything here reads with
h5py and returns pandas DataFrames; panel reads select month rows (one
chunk row per month) and, when asked for a few persons, only their columns.
"""
import builtins
import hashlib
import json
import math
import os
import zlib

import h5py
import numpy as np
import pandas as pd

from . import messages as M

STATE_NAMES = ["inactive_sick", "inactive_caring", "inactive_student", "inactive_other",
               "unemployed", "employed_poor", "employed_good"]
PHASE_NAMES = ["none", "queued", "search", "in_work"]
EMPLOYED_STATES = (5, 6)
PANEL_VARS = ["state", "months_in_state", "months_since_job", "sustained_months", "person_id",
              "programme", "phase", "limiting", "hours", "earnings", "disabled"]
ARM_NAMES = {0: "none", 1: "treatment", 2: "control"}
REASON_NAMES = ["none", "finished", "job_entry", "in_work_ended", "left_queue", "dropped_out",
                "control", "reached_65", "run_ended"]


class PanelError(RuntimeError):
    """The file has no panel (panel mode "none") or the request does not fit it."""


class NoOpWarning(UserWarning):
    """Something that can have no effect: a setting of a run (its ``warnings``,
    docs/scenario-reference.md "Warnings") or a comparison that shows nothing
    (``lmsim.compare`` of identical runs)."""


def _s(x):
    """Decode bytes (h5py fixed or variable strings) to str."""
    if isinstance(x, bytes):
        return x.decode("utf-8")
    if isinstance(x, np.bytes_):
        return bytes(x).decode("utf-8")
    return str(x)


class DamagedFileError(ValueError):
    """A table whose strings do not match its ``strings_crc32`` (variable-length
    strings live in HDF5's global heap, which HDF5 does not checksum;
    docs/output-format.md, "Integrity"): the file is damaged."""


def _as_bytes(x):
    if isinstance(x, (bytes, np.bytes_)):
        return bytes(x)
    return str(x).encode("utf-8")


def read_table(ds, path=None):
    """The rows of compound table ``ds`` (a NumPy structured array), its
    strings checked against the table's ``strings_crc32`` when it has one:
    CRC-32 of every string followed by a NUL, row by row, in column order.
    Raises DamagedFileError on a mismatch. Strings stay as h5py returns them
    (bytes, fixed- or variable-length)."""
    a = ds[...]
    if "strings_crc32" in ds.attrs:
        cols = [k for k in (a.dtype.names or ())
                if a.dtype[k].kind == "S" or h5py.check_string_dtype(a.dtype[k]) is not None]
        crc = 0
        for row in a:
            for k in cols:
                crc = zlib.crc32(_as_bytes(row[k]) + b"\0", crc)
        if crc != int(ds.attrs["strings_crc32"]):
            raise DamagedFileError(M.TABLE_DAMAGED % (path or ds.file.filename, ds.name))
    return a


def _names(attr):
    return [_s(v) for v in np.atleast_1d(attr)]


def _enum_names(ds, fallback):
    """Category names of an HDF5 enum dataset, ordered by code."""
    mapping = h5py.check_enum_dtype(ds.dtype)
    if not mapping:
        return list(fallback)
    n = max(mapping.values()) + 1
    names = ["code_%d" % i for i in range(n)]
    for k, v in mapping.items():
        names[v] = k
    return names


def _categorical(codes, names):
    codes = np.asarray(codes)
    if codes.dtype == np.uint8 and len(names) <= 127:
        codes = codes.view(np.int8)  # no copy: codes < 128
    else:
        codes = codes.astype(np.int16 if len(names) < 32767 else np.int32)
    return pd.Categorical.from_codes(codes, categories=names)


def sha256_of(path, bufsize=1 << 20):
    h = hashlib.sha256()
    with builtins.open(path, "rb") as fh:
        while True:
            b = fh.read(bufsize)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def open(path):  # noqa: A001 - lmsim.open mirrors h5py.File / builtins.open
    """Open an lmsim HDF5 file: a Run, or a Sweep for a sweep index (OUT/sweep.h5)."""
    from .sweep import Sweep, is_sweep
    if is_sweep(path):
        return Sweep(path)
    return Run(path)


class Run:
    """One lmsim run (an HDF5 file written by ``lmsim run``)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.file = h5py.File(self.path, "r")
        a = self.file.attrs
        if "lmsim_version" not in a:
            self.file.close()
            raise ValueError("%s is not an lmsim output file (no lmsim_version attribute)" % path)
        self.version = _s(a["lmsim_version"])
        self.scenario_name = _s(a["scenario_name"])
        self.scenario_text = _s(a["scenario_text"])
        self._scenario = None
        self.seed = int(_s(a["seed_str"]))  # the string: exact for any 64-bit seed
        self.n_persons = int(a["n_persons"])
        # simulation.represents: counts x scale are for the represented population
        self.represents = int(a["represents"]) if "represents" in a else self.n_persons
        self.scale = self.represents / self.n_persons
        self.n_months = int(a["n_months"])
        self.start_month = _s(a["start_month"])
        self.created_at = _s(a["created_at"]) if "created_at" in a else ""
        self.panel_mode = _s(a["panel_mode"]) if "panel_mode" in a else "full"
        self.n_panel_persons = int(a["n_panel_persons"]) if "n_panel_persons" in a else 0
        # Settings that had no effect in this run, one per line (files written
        # before lmsim recorded them have none).
        self.warnings = [w for w in _s(a["warnings"]).split("\n") if w] \
            if "warnings" in a else []
        self.sample_fraction = float(a["sample_fraction"]) if "sample_fraction" in a else 1.0
        # A run split across MPI ranks keeps its panel in part files beside
        # this one (virtual datasets); HDF5 would read a missing part as zeros.
        self.panel_parts = [_s(x) for x in a["panel_parts"]] if "panel_parts" in a else []
        where = os.path.dirname(os.path.abspath(self.path))
        virtual = "panel/state" in self.file and self.file["panel/state"].is_virtual
        missing = [p for p in self.panel_parts
                   if virtual and not os.path.exists(os.path.join(where, p))]
        if missing:
            self.file.close()
            raise FileNotFoundError(
                "%s: its panel lives in part files that must sit beside it; missing: %s"
                % (path, ", ".join(missing)))
        self._persons = None
        self._slots = None

    # -- housekeeping ---------------------------------------------------------
    def close(self):
        if self.file:
            self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<lmsim.Run %s: %s, %d persons x %d months from %s, seed %d, panel %s>" % (
            os.path.basename(self.path), self.scenario_name, self.n_persons, self.n_months,
            self.start_month, self.seed, self.panel_mode)

    @property
    def metadata(self):
        """Root attributes as a dict (scenario_text included)."""
        return {"path": self.path, "lmsim_version": self.version,
                "scenario_name": self.scenario_name, "seed": self.seed,
                "n_persons": self.n_persons, "represents": self.represents,
                "n_months": self.n_months,
                "start_month": self.start_month, "created_at": self.created_at,
                "panel_mode": self.panel_mode, "n_panel_persons": self.n_panel_persons,
                "warnings": list(self.warnings), "scenario_text": self.scenario_text}

    def sha256(self):
        return sha256_of(self.path)

    def dates(self, months=None):
        """Calendar months ("YYYY-MM" Periods) of simulation months."""
        start = pd.Period(self.start_month, freq="M")
        months = np.arange(self.n_months + 1) if months is None else np.asarray(months)
        return pd.PeriodIndex([start + int(m) for m in months], freq="M")

    @property
    def has_panel(self):
        return "panel" in self.file and self.n_panel_persons > 0

    @property
    def programme_names(self):
        if "aggregates/programmes" in self.file:
            return _names(self.file["aggregates/programmes"].attrs["programme_names"])
        if "panel/programme" in self.file and "programme_names" in self.file["panel/programme"].attrs:
            return _names(self.file["panel/programme"].attrs["programme_names"])
        return []

    @property
    def region_names(self):
        return _names(self.file["aggregates/counts"].attrs["region_names"])

    @property
    def scenario(self):
        """The scenario as the engine ran it (includes, ``base`` and overrides
        applied), as nested dicts and lists: the engine's own JSON of it (root
        attribute ``scenario_json``, the output of ``lmsim check --json``)."""
        if self._scenario is None:
            if "scenario_json" not in self.file.attrs:
                raise KeyError("%s has no scenario_json (written by lmsim before 0.1 of "
                               "2026-11-30): run it again, or read scenario_text" % self.path)
            self._scenario = json.loads(_s(self.file.attrs["scenario_json"]))
        return self._scenario

    def settings(self):
        """The scenario as run, flattened to {"group.key": value}: numbers,
        strings and booleans as Python values, lists and arrays as lists (a
        list of groups, such as ``timeline``, as a list of dicts).
        ``setting_text(value)`` gives a value as scenario text."""
        return flatten_scenario(self.scenario)

    # -- persons ----------------------------------------------------------------
    def _require_panel(self):
        if not self.has_panel:
            raise PanelError("%s has no panel (panel mode %r): run lmsim with --panel full or "
                             "--panel sample:F" % (self.path, self.panel_mode))

    def persons(self):
        """One row per person who appears in the panel (docs/output-format.md /persons)."""
        self._require_panel()
        if self._persons is None:
            g = self.file["persons"]
            cols = {k: g[k][...] for k in ["id", "slot", "entry_month", "birth_month", "region",
                                           "female", "disabled", "minority", "qual", "caring"]
                    if k in g}
            for k in g:
                # Skip the dimension scale `row` (the row index, for netCDF readers).
                if k not in cols and g[k].attrs.get("CLASS") != b"DIMENSION_SCALE":
                    cols[k] = g[k][...]
            df = pd.DataFrame(cols)
            if "region_names" in g.attrs:
                df["region"] = _categorical(df["region"].to_numpy(), _names(g.attrs["region_names"]))
            self._persons = df
        return self._persons.copy()

    def _panel_slots(self):
        if self._slots is None:
            self._slots = self.file["panel/person"][...]
        return self._slots

    def _columns_of(self, person_ids):
        """Panel columns (sorted, unique) holding the given person ids."""
        pids = np.unique(np.asarray(person_ids, dtype=np.int64))
        slots = pids % self.n_persons
        cols = np.searchsorted(self._panel_slots(), slots)
        ok = (cols < len(self._panel_slots())) & (self._panel_slots()[np.minimum(
            cols, len(self._panel_slots()) - 1)] == slots)
        if not ok.all():
            raise PanelError("person ids not in the panel: %s" % pids[~ok][:10].tolist())
        return np.unique(cols)

    def _months(self, months):
        if months is None:
            return np.arange(self.n_months + 1)
        if isinstance(months, slice):
            return np.arange(self.n_months + 1)[months]
        m = np.atleast_1d(np.asarray(months, dtype=np.int64))
        if m.size and (m.min() < 0 or m.max() > self.n_months):
            raise IndexError("months must be within 0..%d" % self.n_months)
        return np.unique(m)

    def read_rows(self, var, months, cols=None):
        """Raw panel values [len(months), n_cols] of one variable, reading month rows.

        Each month row is stored as chunks of (1, W) persons, so reading row by
        row (or a contiguous block of rows) touches only the chunks needed.
        """
        self._require_panel()
        ds = self.file["panel/" + var]
        months = np.asarray(months)
        ncol = ds.shape[1] if cols is None else len(cols)
        out = np.empty((len(months), ncol), dtype=ds.dtype.base if h5py.check_enum_dtype(ds.dtype)
                       is None else np.uint8)
        if cols is not None and len(cols) == 0:
            return out
        # few columns: a fancy column selection inside a bounding block; many: whole rows
        block = None
        if cols is not None:
            lo, hi = int(cols[0]), int(cols[-1]) + 1
            block = slice(lo, hi)
        contiguous = len(months) > 1 and np.all(np.diff(months) == 1)
        if contiguous and (cols is None):
            ds.read_direct(out, np.s_[int(months[0]):int(months[-1]) + 1, :])
            return out
        for i, m in enumerate(months):
            if cols is None:
                ds.read_direct(out, np.s_[int(m), :], np.s_[i, :])
            elif len(cols) > 64:
                row = ds[int(m), block]
                out[i] = row[cols - block.start]
            else:
                out[i] = ds[int(m), cols.tolist()]
        return out

    # -- panel --------------------------------------------------------------------
    def panel(self, vars=("state",), months=None, persons=None, names=True):
        """The panel in long format: one row per person x month.

        vars    a variable name or list of them (see PANEL_VARS); person_id is always included
        months  None (all), an int, a list of months or a slice
        persons None (all panel persons) or a list of person ids
        names   state, phase and programme as categorical names (True) or raw codes (False)

        Columns: person_id, slot, month, then the variables. Rows are ordered by
        month, then panel column. With ``persons`` only those persons' rows are
        returned (a column holds successive occupants of one slot).
        """
        self._require_panel()
        if isinstance(vars, str):
            vars = [vars]
        vars = [v for v in vars if v != "person_id"]
        for v in vars:
            if v not in PANEL_VARS:
                raise KeyError("unknown panel variable %r (have %s)" % (v, ", ".join(PANEL_VARS)))
        ms = self._months(months)
        cols = None if persons is None else self._columns_of(persons)
        pid = self.read_rows("person_id", ms, cols)
        slots = self._panel_slots() if cols is None else self._panel_slots()[cols]
        nrow, ncol = pid.shape
        slot = np.empty((nrow, ncol), dtype=np.int32)
        slot[:] = slots[None, :]
        month = np.empty((nrow, ncol), dtype=np.int16)  # months <= 1200
        month[:] = ms[:, None]
        data = {"person_id": pid.ravel(), "slot": slot.ravel(), "month": month.ravel()}
        for v in vars:
            x = self.read_rows(v, ms, cols).ravel()
            if names and v == "state":
                x = _categorical(x, _enum_names(self.file["panel/state"], STATE_NAMES))
            elif names and v == "phase":
                x = _categorical(x, _enum_names(self.file["panel/phase"], PHASE_NAMES))
            elif names and v == "programme":
                x = _categorical(x, ["none"] + self.programme_names)
            data[v] = x
        df = pd.DataFrame(data, copy=False)
        if persons is not None:
            keep = np.isin(data["person_id"], np.asarray(persons))
            df = df[keep].reset_index(drop=True)
        return df

    # -- tables ---------------------------------------------------------------------
    def outcomes(self):
        """The headline table /outcomes/headline (one row per group)."""
        df = pd.DataFrame(read_table(self.file["outcomes/headline"], self.path))
        df["group"] = df["group"].map(_s)
        return df

    headline = outcomes

    def programmes(self):
        """/outcomes/programmes with programme names and arm names (none/treatment/control).

        Counts and costs are for the represented population (``referrals``,
        ``cost_total``, ...; x ``self.scale``) with the simulated persons'
        beside them (``referrals_sim``, ``cost_total_sim``, ...); rates are
        over the referrals followed to their horizon (docs/output-format.md).
        """
        if "outcomes/programmes" not in self.file:
            return pd.DataFrame()
        ds = self.file["outcomes/programmes"]
        df = pd.DataFrame(read_table(ds, self.path))
        if len(df):
            df["programme"] = df["programme"].map(_s)
            df["arm"] = df["arm"].map(ARM_NAMES).fillna(df["arm"].astype(str))
        df.attrs["scale"] = float(ds.attrs["scale"]) if "scale" in ds.attrs else self.scale
        return df

    def referrals(self, names=True):
        """/referrals: one row per programme spell (referral to leaving the programme).

        Columns person_id, slot, programme, arm, referral_month, offer_month,
        start_month, end_month (-1: none), reason, and waited (months from
        referral to the offer, -1 never offered). ``names``: programme, arm
        and reason as categorical names (else the stored codes; programme is
        index + 1 as in /panel/programme). In panel mode sample, the spells
        of the sampled persons.
        """
        if "referrals" not in self.file:
            raise PanelError("%s has no /referrals (written by lmsim 0.1 after issue 10)" %
                             self.path)
        ds = self.file["referrals"]
        df = pd.DataFrame(ds[...])
        if not len(df):
            df = pd.DataFrame({k: np.zeros(0, dtype=ds.dtype[k]) for k in ds.dtype.names})
        df.insert(1, "slot", (df["person_id"].astype(np.int64) % self.n_persons).astype(np.int32))
        df["waited"] = np.where(df["offer_month"] >= 0, df["offer_month"] - df["referral_month"],
                                -1).astype(np.int32)
        if names:
            progs = _names(ds.attrs["programme_names"]) if "programme_names" in ds.attrs \
                else ["none"] + self.programme_names
            reasons = _names(ds.attrs["reason_names"]) if "reason_names" in ds.attrs \
                else REASON_NAMES
            df["programme"] = _categorical(df["programme"].to_numpy(), progs)
            df["arm"] = _categorical(df["arm"].to_numpy(), [ARM_NAMES[k] for k in range(3)])
            df["reason"] = _categorical(df["reason"].to_numpy(), reasons)
        return df

    def cohorts(self, programme, by=(), horizon=12, origin="referral"):
        """Outcome curves by months since referral: see lmsim.cohorts."""
        from .cohorts import cohorts
        return cohorts(self, programme, by=by, horizon=horizon, origin=origin)

    def is_trial(self):
        p = self.programmes()
        return len(p) > 0 and (p["arm"] == "treatment").any()

    def gaps(self):
        """Employment gaps (percentage points) by month: disability, gender, ethnicity."""
        ds = self.file["outcomes/employment_gaps"]
        cols = _names(ds.attrs["columns"]) if "columns" in ds.attrs else ["disability", "gender",
                                                                          "ethnicity"]
        df = pd.DataFrame(ds[...], columns=cols)
        df.insert(0, "month", np.arange(len(df), dtype=np.int32))
        df.insert(1, "date", self.dates(df["month"]).astype(str))
        return df

    def aggregates(self, by=None, earnings=True):
        """/aggregates/counts as a tidy DataFrame.

        One row per cell: month, state, region, sex, disabled, minority,
        age_band (categorical names), count and, when the file has it,
        earnings_pence. ``by`` (list of dimension names) sums over the others,
        e.g. ``aggregates(by=["month", "state"])``.
        """
        ds = self.file["aggregates/counts"]
        dims = _names(ds.attrs["dimensions"])
        counts = ds[...]
        arrays = {"count": counts}
        if earnings and "aggregates/earnings_pence" in self.file:
            arrays["earnings_pence"] = self.file["aggregates/earnings_pence"][...]
        labels = []
        for i, d in enumerate(dims):
            if d == "month":
                labels.append(np.arange(counts.shape[i]))
            else:
                key = d + "_names"
                labels.append(_names(ds.attrs[key]) if key in ds.attrs
                              else [str(j) for j in range(counts.shape[i])])
        if by is not None:
            if isinstance(by, str):
                by = [by]
            for b in by:
                if b not in dims:
                    raise KeyError("unknown dimension %r (have %s)" % (b, ", ".join(dims)))
            axes = tuple(i for i, d in enumerate(dims) if d not in by)
            arrays = {k: v.sum(axis=axes) for k, v in arrays.items()}
            keep = [i for i, d in enumerate(dims) if d in by]
            dims = [dims[i] for i in keep]
            labels = [labels[i] for i in keep]
        shape = arrays["count"].shape
        idx = np.indices(shape).reshape(len(shape), -1)
        data = {}
        for i, d in enumerate(dims):
            if d == "month":
                data[d] = idx[i].astype(np.int32)
            else:
                data[d] = pd.Categorical.from_codes(idx[i], categories=labels[i])
        for k, v in arrays.items():
            data[k] = v.ravel()
        return pd.DataFrame(data)

    def occupancy(self, by=None, share=False):
        """Persons by month x state (wide), optionally per group of a dimension.

        by: None or one aggregate dimension (region, sex, disabled, minority, age_band).
        Returns a DataFrame indexed by month (and the group), columns = states.
        """
        keys = ["month"] + ([by] if by else [])
        agg = self.aggregates(by=keys + ["state"], earnings=False)
        wide = agg.pivot_table(index=keys, columns="state", values="count", aggfunc="sum",
                               observed=False)
        wide.columns = [str(c) for c in wide.columns]
        if share:
            wide = wide.div(wide.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
        return wide

    def programme_months(self):
        """/aggregates/programmes as a tidy DataFrame (month, programme, arm, measure, value:
        the simulated count, represented: value x scale for the represented population)."""
        if "aggregates/programmes" not in self.file:
            return pd.DataFrame(columns=["month", "programme", "arm", "measure", "value",
                                         "represented"])
        ds = self.file["aggregates/programmes"]
        a = ds[...]
        progs = _names(ds.attrs["programme_names"])
        arms = _names(ds.attrs["arm_names"])
        meas = _names(ds.attrs["measure_names"])
        idx = np.indices(a.shape).reshape(4, -1)
        return pd.DataFrame({"month": idx[0].astype(np.int32),
                             "programme": pd.Categorical.from_codes(idx[1], progs),
                             "arm": pd.Categorical.from_codes(idx[2], arms),
                             "measure": pd.Categorical.from_codes(idx[3], meas),
                             "value": a.ravel(), "represented": a.ravel() * self.scale})

    # -- derived from the panel -------------------------------------------------------
    def _attribute_of(self, person_ids, by):
        p = self.persons()
        if by == "age_band":
            raise KeyError("age_band changes over time; use an aggregate or a fixed attribute")
        if by not in p.columns:
            raise KeyError("unknown person attribute %r (have %s)" % (by, ", ".join(p.columns)))
        p = p.set_index("id")
        return p[by].reindex(person_ids).to_numpy()

    def transitions(self, month_from, month_to, by=None, counts=False):
        """Transition matrix among the labour states between two months.

        Persons present in both months (same person in the panel column).
        Row-normalised (each row: P(state at month_to | state at month_from));
        rows of states nobody occupied at month_from are NaN. ``counts=True``
        returns the counts instead. ``by`` (a /persons attribute such as
        "disabled", "female", "region", "qual") returns one matrix per group,
        indexed by (group, from).
        """
        if not 0 <= month_from <= self.n_months or not 0 <= month_to <= self.n_months:
            raise IndexError("months must be within 0..%d" % self.n_months)
        ms = [month_from, month_to]
        pid = self.read_rows("person_id", np.array(ms))
        st = self.read_rows("state", np.array(ms))
        same = pid[0] == pid[1]
        a, b = st[0][same].astype(np.int64), st[1][same].astype(np.int64)
        names = _enum_names(self.file["panel/state"], STATE_NAMES)
        k = len(names)

        def matrix(a, b):
            c = np.bincount(a * k + b, minlength=k * k).reshape(k, k).astype(float)
            if not counts:
                with np.errstate(invalid="ignore", divide="ignore"):
                    c = c / c.sum(axis=1, keepdims=True)
            df = pd.DataFrame(c, index=pd.Index(names, name="from"),
                              columns=pd.Index(names, name="to"))
            return df.astype(np.int64) if counts else df

        if by is None:
            return matrix(a, b)
        g = self._attribute_of(pid[0][same], by)
        parts = {}
        for val in pd.unique(g):
            sel = g == val
            parts[val] = matrix(a[sel], b[sel])
        keys = sorted(parts, key=lambda v: (str(type(v)), v))
        return pd.concat([parts[v] for v in keys], keys=keys, names=[by, "from"])

    def spells(self, block=262144):
        """Employment spells (consecutive months in work, either quality) in the panel.

        Columns: person_id, slot, start, end (first and last month in work,
        inclusive), months (= end - start + 1 month rows), good_months,
        quality ("good"/"poor" at entry; good_months says how long it was
        good), left_censored (already in work at month 0 or at the person's
        first row), right_censored (still in work at the last month),
        sustained_at_end (the sustained_months counter at the last month; a
        spell entered in the run has sustained_at_end = end - start).
        A spell ends when the person leaves work or the slot's occupant changes.
        """
        self._require_panel()
        st_ds = self.file["panel/state"]
        n_m, n_c = st_ds.shape
        out = []
        for c0 in range(0, n_c, block):
            c1 = min(n_c, c0 + block)
            st = st_ds[:, c0:c1]
            pid = self.file["panel/person_id"][:, c0:c1]
            su = self.file["panel/sustained_months"][:, c0:c1]
            emp = st >= EMPLOYED_STATES[0]
            good = st == EMPLOYED_STATES[1]
            same_prev = np.zeros_like(emp)
            same_prev[1:] = pid[1:] == pid[:-1]
            same_next = np.zeros_like(emp)
            same_next[:-1] = pid[:-1] == pid[1:]
            prev_emp = np.zeros_like(emp)
            prev_emp[1:] = emp[:-1]
            next_emp = np.zeros_like(emp)
            next_emp[:-1] = emp[1:]
            start = emp & ~(prev_emp & same_prev)
            end = emp & ~(next_emp & same_next)
            # column-major order so that starts and ends pair up per column
            sc, sm = np.nonzero(start.T)
            ec, em = np.nonzero(end.T)
            gcum = np.cumsum(good.T.ravel(), dtype=np.int64)
            s_flat = sc * n_m + sm
            e_flat = ec * n_m + em
            good_months = gcum[e_flat] - gcum[s_flat] + good.T.ravel()[s_flat]
            out.append(pd.DataFrame({
                "person_id": pid[sm, sc],
                "slot": self._panel_slots()[c0 + sc],
                "start": sm.astype(np.int32),
                "end": em.astype(np.int32),
                "months": (em - sm + 1).astype(np.int32),
                "good_months": good_months.astype(np.int32),
                "quality": pd.Categorical.from_codes(good[sm, sc].astype(np.int8),
                                                     ["poor", "good"]),
                "right_censored": em == n_m - 1,
                "sustained_at_end": su[em, ec].astype(np.int64),
            }))
        if not out:
            return pd.DataFrame(columns=["person_id", "slot", "start", "end", "months"])
        df = pd.concat(out, ignore_index=True)
        # only spells under way at month 0 have an unobserved start (an entrant's
        # spell starts at its entry, at 16)
        df.insert(8, "left_censored", df["start"] == 0)
        return df

    def sustained(self, months=6, by=None):
        """Job entries in the run and how many were sustained for ``months``.

        A job entry is an employment spell that starts after month 0. It is
        sustained when the person stays in work (either quality) for
        ``months`` further months, i.e. the sustained_months counter reaches
        ``months`` (the engine's definition for sustained_6 / sustained_12).
        Entries too recent to know (start + months > n_months, not yet
        sustained) are counted as ``pending``. The rate is sustained /
        (entries - pending).

        Returns one row per entry month (and group with ``by``, a /persons
        attribute), plus a row month = "all" summing them.
        """
        sp = self.spells()
        sp = sp[~sp["left_censored"]].copy()
        sp["sustained"] = (sp["end"] - sp["start"]) >= months
        sp["pending"] = ~sp["sustained"] & (sp["start"] + months > self.n_months) & \
            sp["right_censored"]
        keys = ["start"]
        if by:
            sp[by] = self._attribute_of(sp["person_id"].to_numpy(), by)
            keys = [by, "start"]
        g = sp.groupby(keys, observed=True).agg(entries=("sustained", "size"),
                                                sustained=("sustained", "sum"),
                                                pending=("pending", "sum")).reset_index()
        g = g.rename(columns={"start": "month"})
        total = g.drop(columns=["month"]).groupby(keys[:-1], observed=True).sum().reset_index() \
            if by else pd.DataFrame({k: [g[k].sum()] for k in ["entries", "sustained", "pending"]})
        total["month"] = "all"
        g["month"] = g["month"].astype(object)
        g = pd.concat([g, total[g.columns]], ignore_index=True)
        known = (g["entries"] - g["pending"]).astype(float)
        g["rate"] = np.where(known > 0, g["sustained"] / known.where(known > 0, 1.0), np.nan)
        return g


def flatten_scenario(tree, prefix=""):
    """Flatten the engine's scenario tree (Run.scenario) to {"group.key": value}.

    Groups become dotted paths; every other value (number, string, boolean,
    list or array, a list of groups included) is a leaf, kept as Python data.
    """
    out = {}
    for k, v in tree.items():
        key = prefix + "." + k if prefix else k
        if isinstance(v, dict):
            out.update(flatten_scenario(v, key))
        else:
            out[key] = v
    return out


def setting_text(v):
    """A setting's value as scenario text: '"wales"', '0.02', '1.0', 'true',
    '[150.0,200.0,350.0]', '{from="2026-04";set={...};}' (JSON string quoting;
    lists and arrays both in brackets)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else "nan"
    if isinstance(v, dict):
        return "{" + "".join("%s=%s;" % (k, setting_text(x)) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(setting_text(x) for x in v) + "]"
    if v is None:
        return "nan"
    return str(v)
