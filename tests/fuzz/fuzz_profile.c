/* fuzz_profile.c - card profiles (station/engine/cs_profile.c), read by path from
 * a memory file, and their PIN/PUK policy.
 *
 * Input: the profile text, optionally followed by NUL and PIN candidates
 * (NUL separated) for the policy checks.
 * Properties: what a loaded profile promises holds (pin.min <= pin.max,
 * the required keys are there); a random PIN or PUK made for a profile
 * passes that profile's own policy; the result does not depend on what
 * is written in comments (the file with every comment cut off reads the
 * same, unless a line too long is refused). */
#include "fuzz_util.h"

#include <string.h>

#include "cs_err.h"
#include "cs_profile.h"
#include "cs_secret.h"

static fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_init(&file, "fuzz-profile.conf");
	return 0;
}

/* The text with everything from a '#' to the end of its line removed. */
static char *without_comments(const uint8_t *p, size_t n, size_t *outlen)
{
	char *out = malloc(n + 1);
	size_t k = 0;
	int in_comment = 0;

	if (out == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n')
			in_comment = 0;
		else if (p[i] == '#')
			in_comment = 1;
		if (!in_comment)
			out[k++] = (char)p[i];
	}
	*outlen = k;
	return out;
}

static void check_policy(const cs_profile *p)
{
	cs_secret *s = NULL;
	char why[256];

	FUZZ_CHECK(p->name[0] && p->opensc_driver[0] && p->key_id[0] &&
	    p->auth_id[0] && p->pin_charset[0] && p->puk_charset[0]);
	FUZZ_CHECK(p->pin_min >= 1 && p->pin_min <= p->pin_max && p->puk_len >= 1);
	if (cs_profile_random_pin(p, &s) == CS_OK) {
		why[0] = '\0';
		if (cs_profile_check_pin(p, cs_secret_str(s), why, sizeof(why)) !=
		    CS_OK) {
			fprintf(stderr, "random PIN refused: %s\n", why);
			FUZZ_CHECK(!"a random PIN passes its own profile's policy");
		}
		cs_secret_free(s);
	}
	if (cs_profile_random_puk(p, &s) == CS_OK) {
		why[0] = '\0';
		if (cs_profile_check_puk(p, cs_secret_str(s), why, sizeof(why)) !=
		    CS_OK) {
			fprintf(stderr, "random PUK refused: %s\n", why);
			FUZZ_CHECK(!"a random PUK passes its own profile's policy");
		}
		cs_secret_free(s);
	}
}

static void check_candidate(const cs_profile *p, const char *cand)
{
	char why[256];
	int r1 = cs_profile_check_pin(p, cand, why, sizeof(why));
	int r2 = cs_profile_check_puk(p, cand, why, sizeof(why));

	FUZZ_CHECK(r1 == CS_OK || r1 == CS_ERR_FORMAT);
	FUZZ_CHECK(r2 == CS_OK || r2 == CS_ERR_FORMAT);
	if (r1 == CS_OK)
		FUZZ_CHECK(strlen(cand) >= p->pin_min && strlen(cand) <= p->pin_max);
	if (r2 == CS_OK)
		FUZZ_CHECK(strlen(cand) == p->puk_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cut c = {data, size};
	const uint8_t *text, *cand;
	size_t len, clen, slen;
	cs_profile p1, p2;
	char why[512], why2[512], *stripped;
	int r1, r2;

	if (!fuzz_cut_next(&c, 0, &text, &len))
		return 0;
	fuzz_file_set(&file, text, len);
	why[0] = '\0';
	r1 = cs_profile_load(file.path, &p1, why, sizeof(why));
	FUZZ_CHECK(r1 == CS_OK || why[0] != '\0');

	stripped = without_comments(text, len, &slen);
	fuzz_file_set(&file, stripped, slen);
	r2 = cs_profile_load(file.path, &p2, why2, sizeof(why2));
	free(stripped);
	/* Refusing a file for a line too long is the one way a comment may
	 * change the outcome. */
	FUZZ_CHECK(r1 == r2 || (r1 == CS_ERR_FORMAT &&
	    strstr(why, "longer than") != NULL));
	if (r1 == CS_OK)
		FUZZ_CHECK(memcmp(&p1, &p2, sizeof(p1)) == 0);
	if (r1 != CS_OK)
		return 0;
	check_policy(&p1);
	while (fuzz_cut_next(&c, 0, &cand, &clen)) {
		char *s = fuzz_strndup(cand, clen);

		check_candidate(&p1, s);
		free(s);
	}
	return 0;
}
