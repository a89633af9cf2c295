#include "roomrec_token.h"

#include <errno.h>
#include <jwt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) {
	if(err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int copy_claim(jwt_t *jwt, const char *name, char *dst, char *err, size_t errlen) {
	errno = 0;
	const char *v = jwt_get_grant(jwt, name);
	if(v == NULL || *v == '\0')
		return fail(err, errlen, "token: claim \"%s\" missing or not a non-empty string", name);
	size_t n = strlen(v);
	if(n >= RR_TOKEN_MAX_FIELD)
		return fail(err, errlen, "token: claim \"%s\" longer than %d bytes", name, RR_TOKEN_MAX_FIELD - 1);
	for(size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if(c < 0x20 || c == 0x7f)
			return fail(err, errlen, "token: claim \"%s\" holds a control character", name);
	}
	memcpy(dst, v, n + 1);
	return 0;
}

/* A numeric claim: 1 found (in *out), 0 absent, -1 present but not a number. */
static int number_claim(jwt_t *jwt, const char *name, long long *out) {
	char *json = jwt_get_grants_json(jwt, name);
	if(json == NULL)
		return 0;
	char *end = NULL;
	errno = 0;
	double d = strtod(json, &end);
	int ok = end != json && *end == '\0' && errno == 0 && d > -1e15 && d < 1e15;
	free(json);
	if(!ok)
		return -1;
	*out = (long long)d;
	return 1;
}

static int check_claims(jwt_t *jwt, const char *app, long long now_s, long long leeway_s,
		rr_token_claims *out, char *err, size_t errlen) {
	memset(out, 0, sizeof(*out));
	if(copy_claim(jwt, "app", out->app, err, errlen) < 0 ||
			copy_claim(jwt, "room", out->room, err, errlen) < 0 ||
			copy_claim(jwt, "peer", out->peer, err, errlen) < 0)
		return -1;
	if(strcmp(out->app, app) != 0)
		return fail(err, errlen, "token: signature does not match the app it names");
	long long exp = 0, nbf = 0;
	int r = number_claim(jwt, "exp", &exp);
	if(r == 0)
		return fail(err, errlen, "token: claim \"exp\" missing");
	if(r < 0)
		return fail(err, errlen, "token: claim \"exp\" is not a number");
	if(exp + leeway_s <= now_s)
		return fail(err, errlen, "token: expired %lld s ago", now_s - exp);
	r = number_claim(jwt, "nbf", &nbf);
	if(r < 0)
		return fail(err, errlen, "token: claim \"nbf\" is not a number");
	if(r > 0 && nbf > now_s + leeway_s)
		return fail(err, errlen, "token: not valid before %lld (%lld s from now)", nbf, nbf - now_s);
	out->exp = exp;
	char *rec = jwt_get_grants_json(jwt, "record");
	if(rec != NULL) {
		int is_true = strcmp(rec, "true") == 0, is_false = strcmp(rec, "false") == 0;
		free(rec);
		if(!is_true && !is_false)
			return fail(err, errlen, "token: claim \"record\" is not a boolean");
		out->record = is_true;
	}
	return 0;
}

int rr_token_verify(const char *token, const rr_app_secret *apps, size_t napps, long long now_s,
		long long leeway_s, rr_token_claims *out, char *err, size_t errlen) {
	if(token == NULL || *token == '\0')
		return fail(err, errlen, "token: missing");
	if(strlen(token) > 8192)
		return fail(err, errlen, "token: longer than 8192 bytes");
	/* Three base64url parts: anything else is refused before libjwt sees it. */
	int dots = 0;
	for(const char *p = token; *p; p++) {
		if(*p == '.')
			dots++;
		else if(!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
				*p == '-' || *p == '_'))
			return fail(err, errlen, "token: not a JWT (unexpected character)");
	}
	if(dots != 2)
		return fail(err, errlen, "token: not a JWT (expected three parts)");
	if(token[strlen(token) - 1] == '.')
		return fail(err, errlen, "token: unsigned tokens are refused");
	/* The app is known only from the claims, which are trusted only once the
	 * signature is verified: try each app's secret (a handful per server). */
	for(size_t i = 0; i < napps; i++) {
		if(apps[i].secret == NULL || *apps[i].secret == '\0')
			continue;
		jwt_t *jwt = NULL;
		int r = jwt_decode(&jwt, token, (const unsigned char *)apps[i].secret, (int)strlen(apps[i].secret));
		if(r != 0 || jwt == NULL) {
			if(jwt)
				jwt_free(jwt);
			continue;
		}
		if(jwt_get_alg(jwt) != JWT_ALG_HS256) {
			jwt_free(jwt);
			return fail(err, errlen, "token: algorithm must be HS256");
		}
		const char *claimed = jwt_get_grant(jwt, "app");
		if(claimed == NULL || strcmp(claimed, apps[i].app) != 0) {
			/* Signed with this app's secret but naming another app: keep looking
			 * (two apps may share a secret), refuse if none matches. */
			jwt_free(jwt);
			continue;
		}
		r = check_claims(jwt, apps[i].app, now_s, leeway_s, out, err, errlen);
		jwt_free(jwt);
		return r;
	}
	return fail(err, errlen, "token: signature not valid for any configured app");
}
