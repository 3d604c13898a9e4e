/* lmsim/hash.h - SHA-256 of a byte string (FIPS 180-4), for provenance.
 *
 * Sweeps record the SHA-256 of every task's normalised scenario text (the
 * root attribute `scenario_text` of a run file: the scenario after includes,
 * `base`, `set` overrides and uncertain draws) so that a resumed sweep can
 * tell a finished task from one whose inputs have changed since. SHA-256 is
 * used, not a faster 64-bit hash, so that anyone can check the recorded value
 * with standard tools (Python's hashlib.sha256, `sha256sum`) and collisions
 * are out of the question; a scenario text is a few tens of kilobytes, so the
 * cost is negligible. Implemented here from the standard (lmsim does not
 * depend on OpenSSL).
 */
#ifndef LMSIM_HASH_H
#define LMSIM_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LM_SHA256_BYTES 32
/* Characters of a SHA-256 in lower-case hexadecimal, with the final '\0'. */
#define LM_SHA256_HEX 65

/* The SHA-256 digest of the n bytes at data into out. Pure; thread-safe. */
void lm_sha256(const void *data, size_t n, uint8_t out[LM_SHA256_BYTES]);

/* The SHA-256 of the string text (without its '\0'; NULL is the empty
 * string) as 64 lower-case hexadecimal digits and a '\0', as `sha256sum`
 * prints it. Pure; thread-safe. */
void lm_sha256_hex(const char *text, char out[LM_SHA256_HEX]);

#ifdef __cplusplus
}
#endif
#endif /* LMSIM_HASH_H */
