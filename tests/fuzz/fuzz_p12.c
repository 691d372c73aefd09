/* fuzz_p12.c - certificate checks (station/engine/cs_p12.c).
 *
 * Input: a control byte, the access PIN \0, 利用者mail \0, the required O
 * \0, then DER: a PKCS#12 (decrypted with the PIN by cs_p12_open) or, with
 * control bit 0, an X.509 certificate whose own public key stands in for
 * the private key. A mutated PKCS#12 almost never passes its MAC, so the
 * certificate form is what lets the fuzzer reach the checks' parsing of
 * names, serials, EKU, SAN mails and times. Seeds use 1 KDF iteration.
 * Control bits: 1 expect the serial and the DN the certificate itself has
 * (so every later check runs), 2 no institution, 3-4 which fixed "now",
 * 5 no file serial.
 *
 * Properties: the problem is a known one; the info strings end inside
 * their buffers; a certificate never disagrees with its own serial and
 * (renderable, unambiguous) subject; cs_dn_render fits exactly into
 * strlen+1 bytes and refuses one byte fewer. */
#include "fuzz_util.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "cs_err.h"
#include "cs_p12.h"

static cs_p12_providers providers;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (cs_p12_init(&providers) != CS_OK)
		abort();
	return 0;
}

/* A value with a ',' or '+' and then a '=' may read as two entries when
 * rendered: the subject check refuses such names on purpose. */
static bool ambiguous(const X509_NAME *name)
{
	for (int i = 0; i < X509_NAME_entry_count(name); i++) {
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(name, i));
		unsigned char *u = NULL;
		int n = ASN1_STRING_to_UTF8(&u, v);
		const char *sep = n > 0 ? strpbrk((char *)u, ",+") : NULL;
		bool amb = sep != NULL && strchr(sep, '=') != NULL;

		OPENSSL_free(u);
		if (amb)
			return true;
	}
	return false;
}

static void check_render(const X509 *cert)
{
	const X509_NAME *name = X509_get_subject_name(cert);
	char full[2048], *exact;
	size_t n;

	if (cs_dn_render(name, full, sizeof(full)) != CS_OK)
		return;
	n = strlen(full);
	if ((exact = malloc(n + 1)) == NULL)
		abort();
	FUZZ_CHECK(cs_dn_render(name, exact, n + 1) == CS_OK);
	FUZZ_CHECK(strcmp(exact, full) == 0);
	if (n > 0)
		FUZZ_CHECK(cs_dn_render(name, exact, n) != CS_OK);
	free(exact);
}

static void check(cs_p12 *p, uint8_t flags, const char *mail,
    const char *institution)
{
	static const time_t nows[4] = {0, 1798761600 /* 2027-01-01 */,
	    1893456000 /* 2030-01-01 */, 4102444800 /* 2100-01-01 */};
	cs_p12_expect e = {
		.serial = "1",
		.file_serial = flags & 32 ? NULL : "1",
		.dn = "",
		.mail = mail,
		.institution = flags & 4 ? NULL : institution,
		.now = nows[(flags >> 3) & 3],
	};
	cs_p12_info info, again;
	char why[1024], serial[CS_SERIAL_SIZE];
	cs_problem pr;

	why[0] = '\0';
	pr = cs_p12_check(p, &e, &info, why, sizeof(why));
	FUZZ_CHECK(pr < CS_PROBLEM_COUNT);
	FUZZ_CHECK(pr == CS_PROBLEM_NONE || why[0] != '\0');
	FUZZ_CHECK(memchr(info.serial, 0, sizeof(info.serial)) &&
	    memchr(info.profile, 0, sizeof(info.profile)) &&
	    memchr(info.not_before, 0, sizeof(info.not_before)) &&
	    memchr(info.not_after, 0, sizeof(info.not_after)) &&
	    memchr(info.subject, 0, sizeof(info.subject)));
	FUZZ_CHECK(strcmp(info.profile, "client") == 0 ||
	    strcmp(info.profile, "smime") == 0 ||
	    strcmp(info.profile, "client+smime") == 0 ||
	    strcmp(info.profile, "unknown") == 0);
	check_render(p->cert);
	if (cs_serial_of_cert(p->cert, serial, sizeof(serial)) == CS_OK)
		FUZZ_CHECK(strcmp(serial, info.serial) == 0);
	if (!(flags & 2))
		return;
	/* Expect what the certificate says of itself. */
	e.serial = info.serial;
	e.file_serial = flags & 32 ? NULL : info.serial;
	e.dn = info.subject;
	pr = cs_p12_check(p, &e, &again, why, sizeof(why));
	FUZZ_CHECK(pr != CS_PROBLEM_SERIAL_MISMATCH);
	/* "?": a subject that cannot be rendered matches no 主体者DN. */
	if (strcmp(info.subject, "?") != 0 &&
	    !ambiguous(X509_get_subject_name(p->cert)))
		FUZZ_CHECK(pr != CS_PROBLEM_SUBJECT_MISMATCH);
	FUZZ_CHECK(memcmp(&info, &again, sizeof(info)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cut c = {data, size};
	uint8_t flags = fuzz_cut_byte(&c);
	const uint8_t *part[3];
	size_t len[3];
	char *s[3];
	cs_p12 *p = NULL;

	/* Three NUL-ended strings, then the DER. */
	for (int i = 0; i < 3; i++)
		if (!fuzz_cut_next(&c, 0, &part[i], &len[i]) || c.p == NULL)
			return 0;
	for (int i = 0; i < 3; i++)
		s[i] = fuzz_strndup(part[i], len[i]);
	if (flags & 1) {
		const unsigned char *q = c.p;
		X509 *cert = d2i_X509(NULL, &q, (long)c.left);

		if (cert != NULL) {
			cs_p12 own = {.cert = cert, .key = X509_get_pubkey(cert)};

			if (own.key != NULL)
				check(&own, flags, s[1], s[2]);
			EVP_PKEY_free(own.key);
			X509_free(cert);
		}
	} else {
		char why[1024];
		cs_problem pr;

		why[0] = '\0';
		pr = cs_p12_open(c.p, c.left, s[0], &p, why, sizeof(why));
		FUZZ_CHECK(pr < CS_PROBLEM_COUNT);
		FUZZ_CHECK((pr == CS_PROBLEM_NONE) == (p != NULL));
		FUZZ_CHECK(pr == CS_PROBLEM_NONE || why[0] != '\0');
		if (p != NULL) {
			FUZZ_CHECK(p->key != NULL && p->cert != NULL);
			check(p, flags, s[1], s[2]);
			cs_p12_free(p);
		}
	}
	ERR_clear_error();
	for (int i = 0; i < 3; i++)
		free(s[i]);
	return 0;
}
