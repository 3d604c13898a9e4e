/* lmsim/messages.h - message texts that the Python toolkit repeats word for word.
 *
 * `lmsim compare A.h5 B.h5` (engine/compare.c, engine/output_h5.c) and
 * `lmsim.compare(a, b)` (analysis/lmsim/compare.py) must refuse the same
 * pairs of files with the same message and warn about the same verdicts in
 * the same words. The texts live here, once, as printf formats that use only
 * %s and %d (so that Python's % operator reads them the same way; 64-bit
 * numbers are formatted to strings first). analysis/lmsim/messages.py holds
 * the same table and tests/e2e/test_noops.py checks that the two are equal,
 * key by key and text by text: change both or neither.
 *
 * Keep one #define per message, named LM_MSG_<KEY>, its value a string
 * literal (possibly split into adjacent literals).
 */
#ifndef LMSIM_MESSAGES_H
#define LMSIM_MESSAGES_H

/* Run files that cannot be read as lmsim runs (lm_h5_describe). */
#define LM_MSG_CANNOT_OPEN "cannot open '%s': %s"
#define LM_MSG_NOT_HDF5 "'%s' is not an HDF5 file"
#define LM_MSG_CANNOT_OPEN_HDF5 "cannot open HDF5 file '%s'"
#define LM_MSG_NOT_LMSIM                                                                           \
    "'%s' is not an lmsim run file: root attribute '%s' missing or of the wrong type"
#define LM_MSG_NO_HEADLINE "'%s': /outcomes/headline is missing or not a table of at most %d rows"
/* A table whose strings do not match its strings_crc32 (docs/output-format.md,
 * "Integrity"): file, table. */
#define LM_MSG_TABLE_DAMAGED "'%s' is damaged: %s does not match its checksum (strings_crc32)"

/* Two runs that cannot be compared: LM_MSG_NOT_COMPARABLE with one reason. */
#define LM_MSG_NOT_COMPARABLE "'%s' and '%s' are not comparable runs: %s"
#define LM_MSG_PERSONS_DIFFER "%s persons against %s"
#define LM_MSG_MONTHS_DIFFER "%d months against %d"
#define LM_MSG_START_DIFFERS "start month %s against %s"
#define LM_MSG_GROUPS_DIFFER "%d headline groups against %d (different regions?)"
#define LM_MSG_GROUP_DIFFERS "headline group %d is '%s' against '%s'"

/* Verdicts of a comparison that shows nothing (warnings). */
#define LM_MSG_IDENTICAL "the two runs are identical: every difference is zero"
#define LM_MSG_IDENTICAL_SCENARIOS_DIFFER                                                          \
    "the two runs are identical: every difference is zero, although their scenarios differ: "      \
    "what differs had no effect within the run (see the files' warnings)"
#define LM_MSG_LAST_MONTH_ZERO                                                                     \
    "every difference at the last month is zero, although the runs differ in earlier months or "   \
    "in other tables"
/* A warning recorded in a compared file (root attribute `warnings`). */
#define LM_MSG_FILE_WARNING "'%s' was run with a warning: %s"
/* Two files whose /appraisal settings differ. */
#define LM_MSG_APPRAISAL_DIFFERS                                                                   \
    "'%s' and '%s' have different appraisal settings: appraise both runs with the same prices, "   \
    "discount rate and period"
/* Impacts (compare --impacts) need both panels. */
#define LM_MSG_IMPACTS_NEED_PANELS                                                                 \
    "impacts need the panels of both runs ('%s': panel mode %s; '%s': panel mode %s): run with "   \
    "--panel full or sample:F"

#endif /* LMSIM_MESSAGES_H */
