/*
 * Join tokens of the roomrec Janus plugin: HS256 JWTs signed with an app's
 * secret, verified with libjwt. Plain C, no Janus dependency, so it is tested
 * on its own (tests/janus/test_token.c).
 */
#ifndef ROOMREC_JANUS_TOKEN_H
#define ROOMREC_JANUS_TOKEN_H

#include <stddef.h>

#define RR_TOKEN_MAX_FIELD 256

typedef struct rr_app_secret {
	const char *app;
	const char *secret;
} rr_app_secret;

typedef struct rr_token_claims {
	char app[RR_TOKEN_MAX_FIELD];
	char room[RR_TOKEN_MAX_FIELD];
	char peer[RR_TOKEN_MAX_FIELD];
	int record;     /* the "record" claim; absent means 0 */
	long long exp;  /* unix seconds */
} rr_token_claims;

/*
 * Verifies `token` against the secrets of the configured apps: it must be an
 * HS256 JWT whose signature matches the secret of the app its "app" claim
 * names, carry non-empty string claims "app", "room" and "peer" (at most
 * RR_TOKEN_MAX_FIELD - 1 bytes, no control characters), a numeric "exp" later
 * than now_s (required), an optional "nbf" not after now_s + leeway_s, and an
 * optional boolean "record".
 * Returns 0 and fills *out, or -1 and a reason in err (never echoing the token).
 */
int rr_token_verify(const char *token, const rr_app_secret *apps, size_t napps, long long now_s,
		long long leeway_s, rr_token_claims *out, char *err, size_t errlen);

#endif
