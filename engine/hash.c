/* hash.c - SHA-256 (FIPS 180-4, "Secure Hash Standard", NIST 2015).
 *
 * Written from the standard: the message is padded with one 1 bit, zeros and
 * its length in bits as a 64-bit big-endian number to a multiple of 64 bytes;
 * each 64-byte block is expanded to a 64-word schedule W and mixed into the
 * eight-word state by 64 rounds (FIPS 180-4 §6.2.2). K holds the first 32
 * bits of the fractional parts of the cube roots of the first 64 primes and
 * the initial state those of the square roots of the first 8 primes (§4.2.2,
 * §5.3.3). Words are read and written big-endian whatever the host. There is
 * no state between calls: the whole message is hashed in one call, which is
 * all lmsim needs (scenario texts). Checked against the standard's examples
 * in tests/unit/test_hash.c.
 */
#include "lmsim/hash.h"

#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

static uint32_t rotr(uint32_t x, unsigned n) {
    return x >> n | x << (32u - n);
}

static uint32_t load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Mix one 64-byte block into the state h (FIPS 180-4 §6.2.2). */
static void compress(uint32_t h[8], const uint8_t *block) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        const uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ w[t - 15] >> 3;
        const uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ w[t - 2] >> 10;
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        const uint32_t t1 =
            k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        const uint32_t t2 =
            (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

void lm_sha256(const void *data, size_t n, uint8_t out[LM_SHA256_BYTES]) {
    uint32_t h[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                     0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    const uint8_t *p = data;
    size_t left = n;
    for (; left >= 64; p += 64, left -= 64)
        compress(h, p);
    /* The tail, the 1 bit, zeros and the bit length: one or two blocks. */
    uint8_t last[128] = {0};
    memcpy(last, p, left);
    last[left] = 0x80u;
    const size_t tail = left + 1 + 8 <= 64 ? 64 : 128;
    const uint64_t bits = (uint64_t)n * 8u;
    for (int k = 0; k < 8; k++)
        last[tail - 1 - (size_t)k] = (uint8_t)(bits >> (8 * k));
    compress(h, last);
    if (tail == 128)
        compress(h, last + 64);
    for (int k = 0; k < 8; k++) {
        out[4 * k] = (uint8_t)(h[k] >> 24);
        out[4 * k + 1] = (uint8_t)(h[k] >> 16);
        out[4 * k + 2] = (uint8_t)(h[k] >> 8);
        out[4 * k + 3] = (uint8_t)h[k];
    }
}

void lm_sha256_hex(const char *text, char out[LM_SHA256_HEX]) {
    static const char digits[] = "0123456789abcdef";
    uint8_t d[LM_SHA256_BYTES];
    lm_sha256(text ? text : "", text ? strlen(text) : 0, d);
    for (int k = 0; k < LM_SHA256_BYTES; k++) {
        out[2 * k] = digits[d[k] >> 4];
        out[2 * k + 1] = digits[d[k] & 15u];
    }
    out[2 * LM_SHA256_BYTES] = '\0';
}
