/* lmsim/json.h - a scenario as JSON, for tools that should not re-parse libconfig.
 *
 * lm_json_write_scenario() writes the normalised scenario of lm_scenario.text
 * (includes resolved, `base` merged, `--set` overrides applied: what the run
 * uses and records as `scenario_text`) as one JSON object, the libconfig tree
 * mapped one to one:
 *
 *   group            -> object, members in file order
 *   list, array      -> array
 *   integer          -> number without a fraction or exponent ("5000000000")
 *   float            -> number that always has a '.', an exponent or is
 *                       null when not finite ("0.4", "1.0", "1e-07")
 *   boolean          -> true / false
 *   string           -> string (control characters, quotes and backslashes
 *                       escaped; bytes that are not UTF-8 become U+FFFD)
 *
 * so a float setting stays a float in Python's json module. The object ends
 * with a newline. `lmsim check --json SCENARIO` prints it.
 */
#ifndef LMSIM_JSON_H
#define LMSIM_JSON_H

#include <stdio.h>

#include "lmsim/error.h"
#include "lmsim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write sc's normalised scenario (sc->text) as JSON to `out` (borrowed; not
 * closed). Returns LM_OK; LM_ESYNTAX when sc->text cannot be re-read (it
 * always can for a loaded scenario), LM_EIO when writing to `out` fails.
 * Thread-safe for distinct `out` streams; `sc` is only read. */
int lm_json_write_scenario(const lm_scenario *sc, FILE *out, lm_error *err);

/* The same for scenario text in memory (libconfig syntax without @include
 * of relative files); `display_name` names it in errors (NULL: "(scenario
 * text)"). */
int lm_json_write_config_text(const char *text, const char *display_name, FILE *out, lm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_JSON_H */
