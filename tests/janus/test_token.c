/* Join-token verification of the Janus plugin (integrations/janus/roomrec_token.c):
 * tokens made with libjwt's encoder and by hand (alg none, tampered parts). */
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roomrec_token.h"

static int failures = 0;
#define CHECK(cond, ...) do { if(!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while(0)

static const long long NOW = 1800000000;
static const rr_app_secret APPS[] = {{"demo", "demo-secret-0123456789"}, {"other", "other-secret-abcdef"}};

/* A token: alg, secret, then claims as "name=value" (value "#n" a number, "?b" a bool). */
static char *make(jwt_alg_t alg, const char *secret, const char *const *claims) {
	jwt_t *jwt = NULL;
	if(jwt_new(&jwt) != 0) abort();
	for(; *claims; claims++) {
		const char *eq = strchr(*claims, '=');
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - *claims), *claims);
		const char *v = eq + 1;
		if(v[0] == '#') jwt_add_grant_int(jwt, name, atol(v + 1));
		else if(v[0] == '?') jwt_add_grant_bool(jwt, name, strcmp(v + 1, "true") == 0);
		else jwt_add_grant(jwt, name, v);
	}
	if(jwt_set_alg(jwt, alg, (const unsigned char *)secret, secret ? (int)strlen(secret) : 0) != 0) abort();
	char *s = jwt_encode_str(jwt);
	jwt_free(jwt);
	return s;
}

static int verify(const char *token, rr_token_claims *c, char *err, size_t n) {
	return rr_token_verify(token, APPS, 2, NOW, 0, c, err, n);
}

#define EXPECT_REFUSED(token, needle) do { rr_token_claims c_; char e_[256] = ""; \
	int r_ = verify(token, &c_, e_, sizeof(e_)); \
	CHECK(r_ == -1 && strstr(e_, needle) != NULL, "expected refusal with \"%s\", got %d \"%s\"", needle, r_, e_); } while(0)

int main(void) {
	char err[256];
	rr_token_claims c;
	const char *good[] = {"app=demo", "room=r1", "peer=alice", "record=?true", "exp=#1800000600", NULL};
	char *t = make(JWT_ALG_HS256, APPS[0].secret, good);
	CHECK(verify(t, &c, err, sizeof(err)) == 0, "valid token refused: %s", err);
	CHECK(strcmp(c.app, "demo") == 0 && strcmp(c.room, "r1") == 0 && strcmp(c.peer, "alice") == 0, "claims");
	CHECK(c.record == 1 && c.exp == 1800000600, "record/exp");
	/* Tampered payload: the signature of another token's payload. */
	const char *evil[] = {"app=demo", "room=r1", "peer=mallory", "record=?true", "exp=#1800000600", NULL};
	char *t2 = make(JWT_ALG_HS256, "not-the-secret", evil);
	CHECK(strstr(t, ".") != NULL, "format");
	char *mixed = malloc(strlen(t) + strlen(t2) + 1);
	const char *p1 = strchr(t2, '.'), *p2 = strrchr(t2, '.'), *s1 = strrchr(t, '.');
	sprintf(mixed, "%.*s%.*s%s", (int)(strchr(t, '.') - t), t, (int)(p2 - p1), p1, s1);
	EXPECT_REFUSED(mixed, "signature not valid");
	EXPECT_REFUSED(t2, "signature not valid");
	free(mixed);
	free(t2);
	free(t);

	/* The second app's token with its own secret. */
	const char *other[] = {"app=other", "room=r", "peer=p", "exp=#1800000001", NULL};
	t = make(JWT_ALG_HS256, APPS[1].secret, other);
	CHECK(verify(t, &c, err, sizeof(err)) == 0 && strcmp(c.app, "other") == 0 && c.record == 0, "other app: %s", err);
	free(t);
	/* Signed with demo's secret but claiming app "other". */
	t = make(JWT_ALG_HS256, APPS[0].secret, other);
	EXPECT_REFUSED(t, "signature not valid");
	free(t);

	const char *expired[] = {"app=demo", "room=r", "peer=p", "exp=#1799999990", NULL};
	t = make(JWT_ALG_HS256, APPS[0].secret, expired);
	EXPECT_REFUSED(t, "expired 10 s ago");
	CHECK(rr_token_verify(t, APPS, 2, NOW, 30, &c, err, sizeof(err)) == 0, "leeway: %s", err);
	free(t);
	const char *no_exp[] = {"app=demo", "room=r", "peer=p", NULL};
	t = make(JWT_ALG_HS256, APPS[0].secret, no_exp);
	EXPECT_REFUSED(t, "\"exp\" missing");
	free(t);
	const char *str_exp[] = {"app=demo", "room=r", "peer=p", "exp=1800000600", NULL};
	t = make(JWT_ALG_HS256, APPS[0].secret, str_exp);
	EXPECT_REFUSED(t, "\"exp\" is not a number");
	free(t);
	const char *nbf[] = {"app=demo", "room=r", "peer=p", "exp=#1800000600", "nbf=#1800000100", NULL};
	t = make(JWT_ALG_HS256, APPS[0].secret, nbf);
	EXPECT_REFUSED(t, "not valid before");
	free(t);
	const char *rec_str[] = {"app=demo", "room=r", "peer=p", "exp=#1800000600", "record=yes", NULL};
	t = make(JWT_ALG_HS256, APPS[0].secret, rec_str);
	EXPECT_REFUSED(t, "\"record\" is not a boolean");
	free(t);
	const char *no_room[] = {"app=demo", "peer=p", "exp=#1800000600", NULL};
	t = make(JWT_ALG_HS256, APPS[0].secret, no_room);
	EXPECT_REFUSED(t, "\"room\" missing");
	free(t);
	const char *ctrl[] = {"app=demo", "room=r\n1", "peer=p", "exp=#1800000600", NULL};
	t = make(JWT_ALG_HS256, APPS[0].secret, ctrl);
	EXPECT_REFUSED(t, "control character");
	free(t);
	char long_peer[400] = "peer=";
	memset(long_peer + 5, 'x', 300);
	const char *longc[] = {"app=demo", "room=r", long_peer, "exp=#1800000600", NULL};
	t = make(JWT_ALG_HS256, APPS[0].secret, longc);
	EXPECT_REFUSED(t, "longer than 255 bytes");
	free(t);

	/* Other algorithms, and unsigned tokens, are refused. */
	t = make(JWT_ALG_HS512, APPS[0].secret, good);
	EXPECT_REFUSED(t, "algorithm must be HS256");
	free(t);
	t = make(JWT_ALG_NONE, NULL, good);
	EXPECT_REFUSED(t, "unsigned");
	/* alg "none" with a made-up signature part. */
	char *fake = malloc(strlen(t) + 8);
	sprintf(fake, "%sAAAA", t);
	EXPECT_REFUSED(fake, "signature not valid");
	free(fake);
	free(t);

	EXPECT_REFUSED("", "missing");
	EXPECT_REFUSED("abc.def", "three parts");
	EXPECT_REFUSED("a.b.c.d", "three parts");
	EXPECT_REFUSED("a b.c.d", "unexpected character");
	EXPECT_REFUSED("eyJhbGciOiJIUzI1NiJ9.@@@.x", "unexpected character");
	EXPECT_REFUSED("e30.e30.AAAA", "signature not valid");
	CHECK(rr_token_verify(NULL, APPS, 2, NOW, 0, &c, err, sizeof(err)) == -1, "NULL token");
	/* Error messages never echo the token. */
	t = make(JWT_ALG_HS256, "wrong", good);
	verify(t, &c, err, sizeof(err));
	CHECK(strstr(err, "eyJ") == NULL, "token echoed: %s", err);
	free(t);

	if(failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	else
		printf("token checks passed\n");
	return failures ? 1 : 0;
}
