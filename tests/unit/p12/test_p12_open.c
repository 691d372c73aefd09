/* test_p12_open.c - a PKCS#12 costs bounded work to open, whatever it asks.
 *
 * A red team handed the station files whose key derivations run for
 * minutes (MAC or PBKDF2 at 2^31-1 iterations, scrypt with p = 4096). Each
 * such file must be refused as p12-too-costly within a second of CPU, before
 * any derivation; the files UPKI and OpenSSL write (2048 iterations, legacy
 * 3DES/RC2 or AES) must still open. The hostile files are built cheaply:
 * written with small counts, then their parameters are rewritten (the cost
 * is refused before anything is checked, so nothing else need fit). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "cs_p12.h"

#define PIN "Ab3dE6gH"

static cs_p12_providers pv;
static EVP_PKEY *rsa;
static X509 *cert;

static X509 *self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);

	assert_non_null(x);
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 12345));
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"KOKURITSU HANAKO", -1, -1, 0));
	assert_true(X509_set_issuer_name(x, n));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_true(X509_set_pubkey(x, key));
	assert_true(X509_sign(x, key, EVP_sha256()));
	return x;
}

static int setup(void **state)
{
	/* Should a hostile file's derivation run after all, it would take
	 * minutes to hours before the CPU assertion is reached: stop the
	 * whole test with SIGXCPU instead (it needs a few seconds). */
	struct rlimit cpu = {60, 61};

	if (setrlimit(RLIMIT_CPU, &cpu) != 0 || cs_p12_init(&pv) != 0)
		return -1;
	rsa = EVP_RSA_gen(2048);
	cert = rsa ? self_signed(rsa) : NULL;
	return cert != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	X509_free(cert);
	EVP_PKEY_free(rsa);
	cs_p12_fini(&pv);
	return 0;
}

static unsigned char *der_of(PKCS12 *p12, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PKCS12(p12, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	PKCS12_free(p12);
	return der;
}

/* Open der with PIN; the CPU it took goes to *cpu (seconds). */
static cs_problem open_timed(const unsigned char *der, size_t len,
    cs_p12 **out, double *cpu, char *why, size_t whylen)
{
	clock_t t0 = clock();
	cs_problem p = cs_p12_open(der, len, PIN, out, why, whylen);

	*cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
	return p;
}

static void assert_refused_fast(PKCS12 *p12, const char *says,
    const char *says_too)
{
	cs_p12 *p = NULL;
	char why[512] = "";
	double cpu;
	size_t len;
	unsigned char *der = der_of(p12, &len);
	cs_problem pr = open_timed(der, len, &p, &cpu, why, sizeof(why));

	print_message("refused in %.1f ms: %s\n", cpu * 1000, why);
	assert_int_equal(pr, CS_PROBLEM_P12_TOO_COSTLY);
	assert_string_equal(cs_problem_name(pr), "p12-too-costly");
	assert_null(p);
	assert_true(cpu < 1.0);
	assert_non_null(strstr(why, says));
	if (says_too != NULL)
		assert_non_null(strstr(why, says_too));
	OPENSSL_free(der);
}

/* The iteration count of a PBES2/PBKDF2 or PBES1 AlgorithmIdentifier. */
static void set_iter(X509_ALGOR *alg, long iter)
{
	if (OBJ_obj2nid(alg->algorithm) == NID_pbes2) {
		PBE2PARAM *pbe2 = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
		PBKDF2PARAM *kdf;

		assert_non_null(pbe2);
		kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
		    pbe2->keyfunc->parameter);
		assert_non_null(kdf);
		assert_true(ASN1_INTEGER_set(kdf->iter, iter));
		assert_non_null(ASN1_TYPE_pack_sequence(
		    ASN1_ITEM_rptr(PBKDF2PARAM), kdf, &pbe2->keyfunc->parameter));
		assert_non_null(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
		    pbe2, &alg->parameter));
		PBKDF2PARAM_free(kdf);
		PBE2PARAM_free(pbe2);
	} else {
		PBEPARAM *pbe = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(PBEPARAM), alg->parameter);

		assert_non_null(pbe);
		assert_true(ASN1_INTEGER_set(pbe->iter, iter));
		assert_non_null(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBEPARAM),
		    pbe, &alg->parameter));
		PBEPARAM_free(pbe);
	}
}

static X509_ALGOR *safe_alg(PKCS7 *p7)
{
	assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_encrypted);
	return p7->d.encrypted->enc_data->algorithm;
}

static X509_ALGOR *bag_alg(PKCS12_SAFEBAG *bag)
{
	X509_ALGOR *alg;

	assert_int_equal(PKCS12_SAFEBAG_get_nid(bag), NID_pkcs8ShroudedKeyBag);
	X509_SIG_getm((X509_SIG *)PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
	return alg;
}

/* A PKCS#12 as PKCS12_create writes it: certificates in an encrypted
 * authsafe, the shrouded key in a plain one. */
static PKCS12 *create(int key_nid, int cert_nid, int iter, int mac_iter)
{
	PKCS12 *p12 = PKCS12_create_ex(PIN, "hanako", rsa, cert, NULL, key_nid,
	    cert_nid, iter, mac_iter, 0, NULL, NULL);

	assert_non_null(p12);
	return p12;
}

/* Rewrite the authsafes: fn gets the encrypted one and the key bag. */
static PKCS12 *rewrite(PKCS12 *p12, void (*fn)(X509_ALGOR *safe,
    X509_ALGOR *key, void *arg), void *arg)
{
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	STACK_OF(PKCS12_SAFEBAG) *kbags;
	PKCS7 *keysafe;

	assert_non_null(safes);
	assert_int_equal(sk_PKCS7_num(safes), 2);
	keysafe = sk_PKCS7_value(safes, 1);
	assert_non_null(kbags = PKCS12_unpack_p7data(keysafe));
	fn(safe_alg(sk_PKCS7_value(safes, 0)),
	    bag_alg(sk_PKCS12_SAFEBAG_value(kbags, 0)), arg);
	assert_non_null(keysafe = PKCS12_pack_p7data(kbags));
	PKCS7_free(sk_PKCS7_value(safes, 1));
	sk_PKCS7_set(safes, 1, keysafe);
	sk_PKCS12_SAFEBAG_pop_free(kbags, PKCS12_SAFEBAG_free);
	assert_true(PKCS12_pack_authsafes(p12, safes));
	sk_PKCS7_pop_free(safes, PKCS7_free);
	/* A MAC that fits the new contents, at the usual count. */
	assert_true(PKCS12_set_mac(p12, PIN, -1, NULL, 0, 2048, NULL));
	return p12;
}

static void opens(unsigned char *der, size_t len, const char *key_type)
{
	cs_p12 *p = NULL;
	cs_p12_info info;
	cs_p12_expect e = {.serial = "12345", .dn = "CN=KOKURITSU HANAKO",
	    .mail = "hanako@example.ac.jp", .now = time(NULL)};
	char why[512] = "";
	double cpu;

	assert_int_equal(open_timed(der, len, &p, &cpu, why, sizeof(why)),
	    CS_PROBLEM_NONE);
	print_message("opened in %.1f ms\n", cpu * 1000);
	assert_non_null(p);
	assert_non_null(p->key);
	assert_non_null(p->cert);
	assert_int_equal(X509_check_private_key(p->cert, p->key), 1);
	assert_int_equal(cs_p12_check(p, &e, &info, why, sizeof(why)),
	    CS_PROBLEM_NONE);
	assert_string_equal(info.key_type, key_type);
	cs_p12_free(p);
	OPENSSL_free(der);
}

/* --- the files the service and OpenSSL write still open ----------------- */

static void legacy_3des_and_rc2_files_open(void **state)
{
	size_t len;
	unsigned char *der;

	der = der_of(create(NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	    NID_pbe_WithSHA1And40BitRC2_CBC, 2048, 2048), &len);
	opens(der, len, "rsa-2048");
	der = der_of(create(NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 2048, 2048), &len);
	opens(der, len, "rsa-2048");
}

static void aes_files_open(void **state)
{
	size_t len;
	unsigned char *der = der_of(create(NID_aes_256_cbc, NID_aes_256_cbc,
	    2048, 2048), &len);

	opens(der, len, "rsa-2048");
}

/* The caps are far above what issuers write (500 times OpenSSL's 2048
 * iterations), each is inclusive, and a file at every cap (MAC, certificates
 * and key) stays within the file's budget. Priced, not run: such a file
 * takes seconds to write and open under the sanitizers. */
static void a_file_at_every_cap_fits_the_budget(void **state)
{
	PKCS12 *p12 = create(NID_aes_256_cbc, NID_aes_256_cbc, 1, 2);
	X509_ALGOR *aes = PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), CS_P12_MAX_ITER,
	    NULL, 0, NULL, NID_hmacWithSHA1);
	X509_ALGOR *des = PKCS5_pbe_set(NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	    CS_P12_MAX_ITER, NULL, 0);
	const ASN1_INTEGER *iter;
	cs_p12_work w = {0};
	char why[256] = "";

	assert_true(CS_P12_MAX_ITER >= 1000000);
	assert_non_null(aes);
	assert_non_null(des);
	PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
	assert_true(ASN1_INTEGER_set((ASN1_INTEGER *)iter, CS_P12_MAX_ITER));
	assert_int_equal(cs_p12_price_mac(&w, p12, why, sizeof(why)),
	    CS_PROBLEM_NONE);
	/* AES-256 with PBKDF2-HMAC-SHA1 (two output blocks) and 3DES: the
	 * costliest pair OpenSSL writes. */
	assert_int_equal(cs_p12_price_alg(&w, aes, "certs", why, sizeof(why)),
	    CS_PROBLEM_NONE);
	assert_int_equal(cs_p12_price_alg(&w, des, "key", why, sizeof(why)),
	    CS_PROBLEM_NONE);
	print_message("a file at every cap: %" PRIu64 " work units: %s\n",
	    w.units, why);
	assert_true(w.units <= CS_P12_MAX_WORK);
	X509_ALGOR_free(aes);
	X509_ALGOR_free(des);
	/* One iteration more is over. */
	assert_true(ASN1_INTEGER_set((ASN1_INTEGER *)iter, CS_P12_MAX_ITER + 1));
	w = (cs_p12_work){0};
	assert_int_equal(cs_p12_price_mac(&w, p12, why, sizeof(why)),
	    CS_PROBLEM_P12_TOO_COSTLY);
	PKCS12_free(p12);
}

/* A key bag under `openssl pkcs8 -scrypt`'s parameters (N 2^14, r 8, p 1). */
static void a_scrypt_key_bag_within_bounds_opens(void **state)
{
	STACK_OF(PKCS12_SAFEBAG) *cbags = NULL, *kbags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(rsa);
	X509_ALGOR *alg = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0,
	    NULL, 16384, 8, 1);
	X509_SIG *sig;
	PKCS12 *p12;
	unsigned char *der;
	size_t len;

	assert_non_null(p8);
	assert_non_null(alg);
	assert_non_null(sig = PKCS8_set0_pbe_ex(PIN, (int)strlen(PIN), p8, alg,
	    NULL, NULL));
	assert_non_null(kbags = sk_PKCS12_SAFEBAG_new_null());
	assert_true(sk_PKCS12_SAFEBAG_push(kbags,
	    PKCS12_SAFEBAG_create0_pkcs8(sig)) > 0);
	assert_non_null(PKCS12_add_cert(&cbags, cert));
	assert_true(PKCS12_add_safe(&safes, cbags, NID_aes_256_cbc, 2048, PIN));
	assert_true(PKCS12_add_safe(&safes, kbags, -1, 0, NULL));
	assert_non_null(p12 = PKCS12_add_safes(safes, 0));
	assert_true(PKCS12_set_mac(p12, PIN, -1, NULL, 0, 2048, NULL));
	sk_PKCS12_SAFEBAG_pop_free(cbags, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(kbags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS8_PRIV_KEY_INFO_free(p8);
	der = der_of(p12, &len);
	opens(der, len, "rsa-2048");
}

static void the_wrong_pin_is_still_named(void **state)
{
	size_t len;
	unsigned char *der = der_of(create(NID_aes_256_cbc, NID_aes_256_cbc,
	    2048, 2048), &len);
	cs_p12 *p = NULL;
	char why[256];

	assert_int_equal(cs_p12_open(der, len, "not-the-pin", &p, why,
	    sizeof(why)), CS_PROBLEM_WRONG_PIN);
	assert_null(p);
	OPENSSL_free(der);
}

/* --- the red team's files ------------------------------------------------ */

static void a_mac_of_2_31_iterations_is_refused_before_the_pin_is_tried(
    void **state)
{
	PKCS12 *p12 = create(NID_aes_256_cbc, NID_aes_256_cbc, 2048, 2048);
	const ASN1_INTEGER *iter;

	/* What PKCS12_set_mac(..., INT_MAX, ...) writes, without its three
	 * minutes: the count is read before the MAC is computed. */
	PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
	assert_true(ASN1_INTEGER_set((ASN1_INTEGER *)iter, INT_MAX));
	assert_refused_fast(p12, "MAC iteration count "
	    "2147483647 is over the limit of 1000000", NULL);
}

static void pbkdf2_iter(X509_ALGOR *safe, X509_ALGOR *key, void *arg)
{
	set_iter(*(int *)arg ? key : safe, INT_MAX);
}

static void pbkdf2_of_2_31_iterations_is_refused(void **state)
{
	int on_key = 0;

	assert_refused_fast(rewrite(create(NID_aes_256_cbc,
	    NID_aes_256_cbc, 1, 2048), pbkdf2_iter, &on_key),
	    "authsafe: the PBKDF2 iteration count 2147483647", NULL);
	on_key = 1;
	assert_refused_fast(rewrite(create(NID_aes_256_cbc,
	    NID_aes_256_cbc, 1, 2048), pbkdf2_iter, &on_key),
	    "key bag's encryption: the PBKDF2 iteration count 2147483647", NULL);
	/* The legacy PKCS#12 PBE the same. */
	assert_refused_fast(rewrite(create(
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	    NID_pbe_WithSHA1And40BitRC2_CBC, 1, 2048), pbkdf2_iter, &on_key),
	    "the PBE iteration count 2147483647", NULL);
}

/* A key bag inside an encrypted authsafe is seen once that authsafe (its
 * own cost checked first) is decrypted; still before the key's derivation. */
static void a_costly_key_bag_inside_an_encrypted_authsafe_is_refused(
    void **state)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12_SAFEBAG *bag;
	PKCS12 *p12;

	assert_non_null(PKCS12_add_cert(&bags, cert));
	assert_non_null(bag = PKCS12_add_key(&bags, rsa, 0, 1, NID_aes_256_cbc,
	    PIN));
	set_iter(bag_alg(bag), INT_MAX);
	assert_true(PKCS12_add_safe(&safes, bags, NID_aes_256_cbc, 2048, PIN));
	assert_non_null(p12 = PKCS12_add_safes(safes, 0));
	assert_true(PKCS12_set_mac(p12, PIN, -1, NULL, 0, 2048, NULL));
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	assert_refused_fast(p12, "key bag's encryption: the "
	    "PBKDF2 iteration count 2147483647", NULL);
}

struct scrypt { uint64_t n, r, p; int on_key; };

/* PKCS5_pbe2_set_scrypt refuses what OpenSSL would not run: written with
 * small numbers, then given the test's. */
static void use_scrypt(X509_ALGOR *safe, X509_ALGOR *key, void *arg)
{
	const struct scrypt *s = arg;
	X509_ALGOR *alg = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0,
	    NULL, 1024, 8, 1);
	PBE2PARAM *pbe2;
	SCRYPT_PARAMS *sp;

	assert_non_null(alg);
	assert_non_null(pbe2 = ASN1_TYPE_unpack_sequence(
	    ASN1_ITEM_rptr(PBE2PARAM), alg->parameter));
	assert_non_null(sp = ASN1_TYPE_unpack_sequence(
	    ASN1_ITEM_rptr(SCRYPT_PARAMS), pbe2->keyfunc->parameter));
	assert_true(ASN1_INTEGER_set_uint64(sp->costParameter, s->n));
	assert_true(ASN1_INTEGER_set_uint64(sp->blockSize, s->r));
	assert_true(ASN1_INTEGER_set_uint64(sp->parallelizationParameter, s->p));
	assert_non_null(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS),
	    sp, &pbe2->keyfunc->parameter));
	assert_non_null(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
	    pbe2, &alg->parameter));
	assert_true(X509_ALGOR_copy(s->on_key ? key : safe, alg));
	SCRYPT_PARAMS_free(sp);
	PBE2PARAM_free(pbe2);
	X509_ALGOR_free(alg);
}

static void scrypt_beyond_its_bounds_is_refused(void **state)
{
	struct scrypt s = {16384, 8, 4096, 0};

	assert_refused_fast(rewrite(create(NID_aes_256_cbc,
	    NID_aes_256_cbc, 1, 2048), use_scrypt, &s),
	    "scrypt p 4096 is not 1 to 16", NULL);
	s.on_key = 1;
	assert_refused_fast(rewrite(create(NID_aes_256_cbc,
	    NID_aes_256_cbc, 1, 2048), use_scrypt, &s),
	    "key bag's encryption: scrypt p 4096", NULL);
	/* 1 GiB of memory; and a cost within memory but over N*r*p. */
	s = (struct scrypt){1u << 20, 8, 1, 0};
	assert_refused_fast(rewrite(create(NID_aes_256_cbc,
	    NID_aes_256_cbc, 1, 2048), use_scrypt, &s),
	    "bytes, over the limit of 33554432", NULL);
	s = (struct scrypt){1u << 16, 1, 16, 0};
	assert_refused_fast(rewrite(create(NID_aes_256_cbc,
	    NID_aes_256_cbc, 1, 2048), use_scrypt, &s),
	    "scrypt N*r*p = 1048576 is over the limit of 524288", NULL);
}

/* Each count under its cap, but many of them: the file's budget. */
static void many_derivations_each_under_the_cap_exhaust_the_budget(
    void **state)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	STACK_OF(PKCS7) *safes = NULL, *back;
	PKCS12 *p12;

	assert_non_null(PKCS12_add_cert(&bags, cert));
	for (int i = 0; i < 6; i++)
		assert_true(PKCS12_add_safe(&safes, bags, NID_aes_256_cbc, 1,
		    PIN));
	assert_non_null(p12 = PKCS12_add_safes(safes, 0));
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	assert_non_null(back = PKCS12_unpack_authsafes(p12));
	for (int i = 0; i < sk_PKCS7_num(back); i++)
		set_iter(safe_alg(sk_PKCS7_value(back, i)), CS_P12_MAX_ITER);
	assert_true(PKCS12_pack_authsafes(p12, back));
	sk_PKCS7_pop_free(back, PKCS7_free);
	assert_true(PKCS12_set_mac(p12, PIN, -1, NULL, 0, 2048, NULL));
	assert_refused_fast(p12, "key derivations",
	    "over the limit of 10000000 per file");
}

static void an_unknown_encryption_is_unreadable_not_attempted(void **state)
{
	PKCS12 *p12 = create(NID_aes_256_cbc, NID_aes_256_cbc, 2048, 2048);
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	cs_p12 *p = NULL;
	unsigned char *der;
	char why[256];
	size_t len;

	assert_true(X509_ALGOR_set0(safe_alg(sk_PKCS7_value(safes, 0)),
	    OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL));
	assert_true(PKCS12_pack_authsafes(p12, safes));
	sk_PKCS7_pop_free(safes, PKCS7_free);
	der = der_of(p12, &len);
	assert_int_equal(cs_p12_open(der, len, PIN, &p, why, sizeof(why)),
	    CS_PROBLEM_P12_UNREADABLE);
	assert_non_null(strstr(why, "unknown algorithm"));
	OPENSSL_free(der);
}

/* --- what kind of key ---------------------------------------------------- */

static void key_types_are_named_for_the_card(void **state)
{
	EVP_PKEY *k;
	char t[24];

	cs_key_type(rsa, t, sizeof(t));
	assert_string_equal(t, "rsa-2048");
	assert_non_null(k = EVP_RSA_gen(1024));
	cs_key_type(k, t, sizeof(t));
	assert_string_equal(t, "rsa-1024");
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_EC_gen("P-256"));
	cs_key_type(k, t, sizeof(t));
	assert_string_equal(t, "ec-prime256v1");
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_EC_gen("P-384"));
	cs_key_type(k, t, sizeof(t));
	assert_string_equal(t, "ec-secp384r1");
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	cs_key_type(k, t, sizeof(t));
	assert_string_equal(t, "other");
	EVP_PKEY_free(k);
	cs_key_type(NULL, t, sizeof(t));
	assert_string_equal(t, "other");
}

static void an_ec_file_opens_and_says_so(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = self_signed(k);
	PKCS12 *p12 = PKCS12_create_ex(PIN, "hanako", k, x, NULL,
	    NID_aes_256_cbc, NID_aes_256_cbc, 2048, 2048, 0, NULL, NULL);
	unsigned char *der;
	size_t len;

	assert_non_null(p12);
	der = der_of(p12, &len);
	opens(der, len, "ec-prime256v1");
	X509_free(x);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(legacy_3des_and_rc2_files_open),
		cmocka_unit_test(aes_files_open),
		cmocka_unit_test(a_file_at_every_cap_fits_the_budget),
		cmocka_unit_test(a_scrypt_key_bag_within_bounds_opens),
		cmocka_unit_test(the_wrong_pin_is_still_named),
		cmocka_unit_test(a_mac_of_2_31_iterations_is_refused_before_the_pin_is_tried),
		cmocka_unit_test(pbkdf2_of_2_31_iterations_is_refused),
		cmocka_unit_test(a_costly_key_bag_inside_an_encrypted_authsafe_is_refused),
		cmocka_unit_test(scrypt_beyond_its_bounds_is_refused),
		cmocka_unit_test(many_derivations_each_under_the_cap_exhaust_the_budget),
		cmocka_unit_test(an_unknown_encryption_is_unreadable_not_attempted),
		cmocka_unit_test(key_types_are_named_for_the_card),
		cmocka_unit_test(an_ec_file_opens_and_says_so),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
