"""Message texts shared word for word with the engine.

The table of include/lmsim/messages.h, for ``lmsim.compare`` to refuse the
pairs of files ``lmsim compare A.h5 B.h5`` refuses, and to warn about the
same verdicts, in the same words. Formats use only %s and %d, so C's printf
and Python's % read them alike. tests/e2e/test_noops.py checks that this
table equals the header's, key by key and text by text: change both or
neither.
"""

# Run files that cannot be read as lmsim runs (lm_h5_describe).
CANNOT_OPEN = "cannot open '%s': %s"
NOT_HDF5 = "'%s' is not an HDF5 file"
CANNOT_OPEN_HDF5 = "cannot open HDF5 file '%s'"
NOT_LMSIM = "'%s' is not an lmsim run file: root attribute '%s' missing or of the wrong type"
NO_HEADLINE = "'%s': /outcomes/headline is missing or not a table of at most %d rows"
# A table whose strings do not match its strings_crc32 (docs/output-format.md,
# "Integrity"): file, table.
TABLE_DAMAGED = "'%s' is damaged: %s does not match its checksum (strings_crc32)"

# Two runs that cannot be compared: NOT_COMPARABLE with one reason.
NOT_COMPARABLE = "'%s' and '%s' are not comparable runs: %s"
PERSONS_DIFFER = "%s persons against %s"
MONTHS_DIFFER = "%d months against %d"
START_DIFFERS = "start month %s against %s"
GROUPS_DIFFER = "%d headline groups against %d (different regions?)"
GROUP_DIFFERS = "headline group %d is '%s' against '%s'"

# Verdicts of a comparison that shows nothing (warnings).
IDENTICAL = "the two runs are identical: every difference is zero"
IDENTICAL_SCENARIOS_DIFFER = (
    "the two runs are identical: every difference is zero, although their scenarios differ: "
    "what differs had no effect within the run (see the files' warnings)")
LAST_MONTH_ZERO = ("every difference at the last month is zero, although the runs differ in "
                   "earlier months or in other tables")
# A warning recorded in a compared file (root attribute `warnings`).
FILE_WARNING = "'%s' was run with a warning: %s"
# Two files whose /appraisal settings differ.
APPRAISAL_DIFFERS = ("'%s' and '%s' have different appraisal settings: appraise both runs with the "
                     "same prices, discount rate and period")
# Impacts (compare --impacts) need both panels.
IMPACTS_NEED_PANELS = ("impacts need the panels of both runs ('%s': panel mode %s; '%s': panel "
                       "mode %s): run with --panel full or sample:F")

MESSAGES = {k: v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str)}
