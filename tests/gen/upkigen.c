/* upkigen - write a realistic UPKI "P12 bulk" download pair for tests.
 *
 * Output in --out DIR: clientAll.zip (client.txt + one <serial>.p12 per
 * person), clientAllPin.zip (clientAllPin.txt) or clientPin.zip
 * (clientPin.txt), ca.pem (the private test CA) and expect.tsv (what a
 * reader of the pair must conclude for each record). See README.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "cs_err.h"
#include "gen_out.h"
#include "gen_people.h"
#include "gen_pki.h"

#define MAX_BREAKS 64

struct opts {
	const char *out;
	size_t people;
	uint64_t seed;
	const char *institution;
	const char *pin_file;
	unsigned key_pool;
	int utf8;
	const char *brk[MAX_BREAKS];
	size_t nbrk;
	const char *zbrk[MAX_BREAKS];
	size_t nzbrk;
	const char *ktype[MAX_BREAKS];
	size_t nktype;
	const char *expires[MAX_BREAKS];
	size_t nexpires;
	const char *fullext[MAX_BREAKS];
	size_t nfullext;
	int renewal;
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: upkigen --out DIR [--people N] [--seed S]\n"
	    "               [--institution \"O value\"] "
	    "[--pin-file clientAllPin|clientPin]\n"
	    "               [--key-pool K] [--utf8] [--break CASE[@I]]...\n"
	    "               [--archive-break CASE[@pin]]... "
	    "[--key-type TYPE[@I]]...\n"
	    "               [--expires-in SECONDS[@I]]... [--renewal]\n"
	    "               [--full-extensions[=I]]...\n"
	    "record breaks: p12-missing p12-orphan wrong-pin no-pin-row "
	    "no-index-row\n"
	    "  no-index-row+p12 name-mismatch serial-mismatch key-mismatch\n"
	    "  subject-mismatch foreign-o smime-mail-mismatch expired "
	    "not-yet-valid\n  duplicate-serial   (I: person number, 1-based, "
	    "in index order)\n"
	    "archive breaks: dotdot absolute symlink too-many-entries bomb "
	    "not-zip\n  (on clientAll.zip; @pin puts it on the PIN archive)\n"
	    "key types: rsa-2048 (the default) rsa-1024 rsa-3072 rsa-4096 "
	    "ec-p256 ec-p384\n  (for everyone, or for person I; a later one "
	    "wins)\n"
	    "--expires-in: valid now, expired SECONDS from now (a certificate "
	    "that\n  expires between import and encoding)\n"
	    "--renewal: the same people (same --seed) with certificates renewed\n"
	    "  today: each serial plus 2^32, notBefore today, so a later notAfter\n"
	    "--full-extensions: certificatePolicies, CRL distribution point and\n"
	    "  authority information access as a production CA adds (a longer\n"
	    "  certificate), for everyone or for person I\n");
}

static int parse_uint(const char *s, unsigned long long max,
    unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return (errno != 0 || end == s || *end != '\0' || *v > max ||
	    s[0] == '-') ? -1 : 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"out", required_argument, NULL, 'o'},
		{"people", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"institution", required_argument, NULL, 'i'},
		{"pin-file", required_argument, NULL, 'p'},
		{"key-pool", required_argument, NULL, 'k'},
		{"break", required_argument, NULL, 'b'},
		{"archive-break", required_argument, NULL, 'a'},
		{"utf8", no_argument, NULL, 'u'},
		{"key-type", required_argument, NULL, 't'},
		{"expires-in", required_argument, NULL, 'e'},
		{"renewal", no_argument, NULL, 'r'},
		{"full-extensions", optional_argument, NULL, 'x'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->people = 20;
	o->seed = 1;
	o->institution = "National Institute of Informatics, Academe Campus";
	o->pin_file = "clientAllPin";
	o->key_pool = 8;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'n':
			if (parse_uint(optarg, 1000000, &v) != 0)
				return CS_ERR_USAGE;
			o->people = (size_t)v;
			break;
		case 's':
			if (parse_uint(optarg, UINT64_MAX, &v) != 0)
				return CS_ERR_USAGE;
			o->seed = v;
			break;
		case 'i':
			o->institution = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "clientAllPin") != 0 &&
			    strcmp(optarg, "clientPin") != 0)
				return CS_ERR_USAGE;
			o->pin_file = optarg;
			break;
		case 'k':
			if (parse_uint(optarg, 1024, &v) != 0 || v == 0)
				return CS_ERR_USAGE;
			o->key_pool = (unsigned)v;
			break;
		case 'b':
			if (o->nbrk == MAX_BREAKS)
				return CS_ERR_USAGE;
			o->brk[o->nbrk++] = optarg;
			break;
		case 'a':
			if (o->nzbrk == MAX_BREAKS)
				return CS_ERR_USAGE;
			o->zbrk[o->nzbrk++] = optarg;
			break;
		case 'u':
			o->utf8 = 1;
			break;
		case 't':
			if (o->nktype == MAX_BREAKS)
				return CS_ERR_USAGE;
			o->ktype[o->nktype++] = optarg;
			break;
		case 'e':
			if (o->nexpires == MAX_BREAKS)
				return CS_ERR_USAGE;
			o->expires[o->nexpires++] = optarg;
			break;
		case 'r':
			o->renewal = 1;
			break;
		case 'x':
			if (o->nfullext == MAX_BREAKS)
				return CS_ERR_USAGE;
			o->fullext[o->nfullext++] = optarg != NULL ? optarg : "";
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return CS_ERR_USAGE;
		}
	}
	if (optind != argc || o->out == NULL)
		return CS_ERR_USAGE;
	return CS_OK;
}

/* "CASE" or "CASE@I" (I 1-based) into name and 0-based who (-1: any). */
static int split_at(const char *arg, char *name, size_t cap, long *who)
{
	const char *at = strchr(arg, '@');
	size_t n = at ? (size_t)(at - arg) : strlen(arg);
	unsigned long long v;

	if (n + 1 > cap)
		return CS_ERR_USAGE;
	memcpy(name, arg, n);
	name[n] = '\0';
	*who = -1;
	if (at != NULL) {
		if (parse_uint(at + 1, 1000000, &v) != 0 || v == 0)
			return CS_ERR_USAGE;
		*who = (long)v - 1;
	}
	return CS_OK;
}

static const char *profile_name(gen_profile p)
{
	return p == GEN_CLIENT ? "client" :
	    p == GEN_CLIENT_SMIME ? "client+smime" : "smime";
}

static const char *enc_name(gen_enc e)
{
	return e == GEN_ENC_3DES ? "3des" : e == GEN_ENC_RC2 ? "rc2-40" :
	    "aes-256";
}

/* The DN column: the subject, or for subject-mismatch the subject with
 * another staff number, as if the index had been edited after issue. */
static void dn_column(const gen_pki *k, const gen_person *p, char *out,
    size_t cap)
{
	gen_person q = *p;

	if (p->dn_differs)
		snprintf(q.staff, sizeof(q.staff), "%lu",
		    strtoul(p->staff, NULL, 10) + 1);
	gen_pki_dn(k, &q, out, cap);
}

static const char *index_serial(const gen_person *pp, const gen_person *p)
{
	return p->index_serial_of >= 0 ? pp[p->index_serial_of].serial_dec :
	    p->serial_dec;
}

static int write_tsv_entry(gen_zip *z, const char *name, const gen_buf *b,
    int utf8)
{
	char *bytes;
	size_t len;
	int r;

	if ((r = gen_tsv_encode(b, utf8, &bytes, &len)) != CS_OK)
		return r;
	return gen_zip_add(z, name, bytes, len);
}

static int make_index(const struct opts *o, const gen_pki *k,
    const gen_person *pp, gen_zip *z)
{
	gen_buf b = {0};
	char dn[512];
	int r;

	if ((r = gen_buf_row(&b, "シリアル番号", "利用者氏名", "利用者mail",
	    "主体者DN", NULL)) != CS_OK)
		goto out;
	for (size_t i = 0; i < o->people; i++) {
		const gen_person *p = &pp[i];

		if (p->no_index)
			continue;
		dn_column(k, p, dn, sizeof(dn));
		if ((r = gen_buf_row(&b, index_serial(pp, p), p->name, p->mail,
		    dn, NULL)) != CS_OK)
			goto out;
	}
	r = write_tsv_entry(z, "client.txt", &b, o->utf8);
out:
	gen_buf_free(&b);
	return r;
}

/* The PIN file lists the same people in another order. */
static int make_pins(const struct opts *o, const gen_pki *k,
    const gen_person *pp, gen_zip *z)
{
	gen_buf b = {0};
	size_t *order;
	char dn[512], entry[64];
	gen_rand r;
	int ret;

	if ((order = calloc(o->people ? o->people : 1, sizeof(*order))) == NULL)
		return CS_ERR_NOMEM;
	gen_rand_seed(&r, o->seed ^ 0x50494e53ULL);
	for (size_t i = 0; i < o->people; i++)
		order[i] = i;
	for (size_t i = o->people; i > 1; i--) {
		size_t j = gen_rand_below(&r, (uint32_t)i), t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	if ((ret = gen_buf_row(&b, "利用者氏名", "利用者mail", "アクセスPIN",
	    "主体者DN", NULL)) != CS_OK)
		goto out;
	for (size_t i = 0; i < o->people; i++) {
		const gen_person *p = &pp[order[i]];

		if (p->no_pin)
			continue;
		dn_column(k, p, dn, sizeof(dn));
		if ((ret = gen_buf_row(&b,
		    p->name_differs ? p->pin_row_name : p->name, p->mail,
		    p->pin_wrong ? p->pin_row_pin : p->pin, dn, NULL)) != CS_OK)
			goto out;
	}
	snprintf(entry, sizeof(entry), "%s.txt", o->pin_file);
	ret = write_tsv_entry(z, entry, &b, o->utf8);
out:
	gen_buf_free(&b);
	free(order);
	return ret;
}

static int make_p12s(const struct opts *o, const gen_pki *k,
    const gen_person *pp, gen_zip *z)
{
	char entry[64];
	unsigned char *der;
	size_t len;
	int r;

	for (size_t i = 0; i < o->people; i++) {
		const gen_person *p = &pp[i];

		if (p->no_p12)
			continue;
		if ((r = gen_pki_p12(k, p, &der, &len)) != CS_OK)
			return r;
		snprintf(entry, sizeof(entry), "%s.p12", p->serial_dec);
		if ((r = gen_zip_add(z, entry, der, len)) != CS_OK)
			return r;
	}
	return CS_OK;
}

static int expect_row(FILE *f, const char *serial, const gen_person *p,
    const char *verdict, const char *note)
{
	char file[64];

	if (p->no_p12 && strcmp(verdict, "p12-orphan") != 0)
		snprintf(file, sizeof(file), "-");
	else
		snprintf(file, sizeof(file), "%s.p12", p->serial_dec);
	return fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", serial,
	    p->name, p->mail, profile_name(p->profile), verdict, file,
	    enc_name(p->enc), p->pin, note[0] ? note : "-",
	    gen_key_name(p->key_type)) < 0 ? CS_ERR_IO : CS_OK;
}

static int write_expect(const struct opts *o, const gen_person *pp,
    const char *path)
{
	FILE *f = fopen(path, "w");
	int r = CS_OK;

	if (f == NULL)
		return CS_ERR_IO;
	if (fputs("serial\tname\tmail\tprofile\tverdict\tp12\tenc\tpin\tnote"
	    "\tkey\n", f) == EOF)
		r = CS_ERR_IO;
	for (size_t i = 0; i < o->people && r == CS_OK; i++) {
		const gen_person *p = &pp[i];

		r = expect_row(f, p->no_index ? p->serial_dec :
		    index_serial(pp, p), p, p->verdict, p->note);
		if (r == CS_OK && p->orphan_row)
			r = expect_row(f, p->serial_dec, p, "p12-orphan",
			    "the .p12 of the PIN-only row above");
	}
	if (fclose(f) != 0)
		r = CS_ERR_IO;
	return r;
}

static int apply_archive_breaks(const struct opts *o, gen_zip *certs,
    gen_zip *pins)
{
	for (size_t i = 0; i < o->nzbrk; i++) {
		char name[64];
		const char *at = strchr(o->zbrk[i], '@');
		size_t n = at ? (size_t)(at - o->zbrk[i]) : strlen(o->zbrk[i]);
		gen_zip *z = certs;
		int r;

		if (n >= sizeof(name))
			return CS_ERR_USAGE;
		memcpy(name, o->zbrk[i], n);
		name[n] = '\0';
		if (at != NULL) {
			if (strcmp(at, "@pin") != 0)
				return CS_ERR_USAGE;
			z = pins;
		}
		if (gen_zip_break_known(name) != 0) {
			fprintf(stderr, "upkigen: unknown archive break '%s'\n",
			    name);
			return CS_ERR_USAGE;
		}
		if ((r = gen_zip_break(z, name)) != CS_OK)
			return r;
	}
	return CS_OK;
}

/* --renewal: everyone's certificate issued again today under a serial of
 * its own (the old one plus 2^32), as the CA renews: a later notAfter. */
static int apply_renewal(gen_person *pp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned carry = 1;
		BIGNUM *bn;
		char *dec;

		for (int b = (int)sizeof(pp[i].serial) - 5; b >= 0 && carry; b--) {
			unsigned v = pp[i].serial[b] + carry;

			pp[i].serial[b] = (unsigned char)v;
			carry = v >> 8;
		}
		if ((bn = BN_bin2bn(pp[i].serial, sizeof(pp[i].serial), NULL)) ==
		    NULL || (dec = BN_bn2dec(bn)) == NULL) {
			BN_free(bn);
			return CS_ERR_NOMEM;
		}
		snprintf(pp[i].serial_dec, sizeof(pp[i].serial_dec), "%s", dec);
		OPENSSL_free(dec);
		BN_free(bn);
		pp[i].days_ago = 0;
	}
	return CS_OK;
}

/* --expires-in SECONDS[@I]: a good certificate that expires soon. */
static int apply_expiries(const struct opts *o, gen_person *pp, char *why,
    size_t whylen)
{
	for (size_t i = 0; i < o->nexpires; i++) {
		char secs[32];
		long who, n;

		if (split_at(o->expires[i], secs, sizeof(secs), &who) != CS_OK ||
		    (n = atol(secs)) <= 0 ||
		    (who >= 0 && (size_t)who >= o->people)) {
			snprintf(why, whylen, "bad --expires-in '%s'", o->expires[i]);
			return CS_ERR_USAGE;
		}
		for (size_t j = 0; j < o->people; j++)
			if (who < 0 || (size_t)who == j)
				pp[j].expires_in = n;
	}
	return CS_OK;
}

/* --full-extensions[=I]: the certificate of everyone or of person I
 * carries a production CA's extensions (a longer certificate). */
static int apply_full_ext(const struct opts *o, gen_person *pp, char *why,
    size_t whylen)
{
	for (size_t i = 0; i < o->nfullext; i++) {
		unsigned long long v = 0;

		if (o->fullext[i][0] != '\0' &&
		    (parse_uint(o->fullext[i], o->people, &v) != 0 || v == 0)) {
			snprintf(why, whylen, "bad --full-extensions '%s'",
			    o->fullext[i]);
			return CS_ERR_USAGE;
		}
		for (size_t j = 0; j < o->people; j++)
			if (v == 0 || j + 1 == v)
				pp[j].full_ext = 1;
	}
	return CS_OK;
}

/* --key-type TYPE[@I], in order. A person left otherwise good whose key
 * is not RSA-2048 is refused by the shipped card profiles: key-unsupported. */
static int apply_key_types(const struct opts *o, gen_person *pp, char *why,
    size_t whylen)
{
	for (size_t i = 0; i < o->nktype; i++) {
		char name[32];
		long who;
		gen_key t;

		if (split_at(o->ktype[i], name, sizeof(name), &who) != CS_OK ||
		    gen_key_parse(name, &t) != 0 ||
		    (who >= 0 && (size_t)who >= o->people)) {
			snprintf(why, whylen, "bad --key-type '%s'", o->ktype[i]);
			return CS_ERR_USAGE;
		}
		for (size_t j = 0; j < o->people; j++) {
			gen_person *p = &pp[j];

			if (who >= 0 && (size_t)who != j)
				continue;
			p->key_type = t;
			if (t != GEN_KEY_RSA2048 && strcmp(p->verdict, "OK") == 0) {
				p->verdict = "key-unsupported";
				snprintf(p->note, sizeof(p->note), "key %s: no "
				    "shipped card profile takes it",
				    gen_key_name(t));
			} else if (t == GEN_KEY_RSA2048 &&
			    strcmp(p->verdict, "key-unsupported") == 0) {
				p->verdict = "OK";
				p->note[0] = '\0';
			}
		}
	}
	return CS_OK;
}

static int path_in(char *buf, size_t cap, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, cap, "%s/%s", dir, name) < cap ? CS_OK :
	    CS_ERR_USAGE;
}

int main(int argc, char **argv)
{
	struct opts o;
	gen_people_opts po;
	gen_person *pp = NULL;
	gen_pki k;
	gen_providers pv = {NULL, NULL};
	gen_zip certs = {0}, pins = {0};
	gen_rand br;
	char path[4096], why[4200] = "", name[64];
	size_t nprof[3] = {0}, nenc[3] = {0}, nother = 0;
	int r;

	memset(&k, 0, sizeof(k));
	if (parse_args(argc, argv, &o) != CS_OK) {
		usage(stderr);
		return 2;
	}
	if (mkdir(o.out, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "upkigen: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	if ((r = gen_pki_init(&pv)) != CS_OK) {
		snprintf(why, sizeof(why), "cannot load OpenSSL's legacy provider");
		goto out;
	}
	po.n = o.people;
	po.seed = o.seed;
	po.key_pool = o.key_pool;
	po.domain = "academe.example.ac.jp";
	if ((r = gen_people_make(&pp, &po)) != CS_OK)
		goto out;
	/* A stream of its own: adding a break does not change anyone. */
	gen_rand_seed(&br, o.seed ^ 0x425245414bULL);
	for (size_t i = 0; i < o.nbrk; i++) {
		long who;

		if ((r = split_at(o.brk[i], name, sizeof(name), &who)) != CS_OK) {
			snprintf(why, sizeof(why), "bad --break '%s'", o.brk[i]);
			goto out;
		}
		if ((r = gen_break_apply(pp, o.people, name, who, &br, why,
		    sizeof(why))) != CS_OK)
			goto out;
	}
	if ((r = apply_key_types(&o, pp, why, sizeof(why))) != CS_OK ||
	    (r = apply_expiries(&o, pp, why, sizeof(why))) != CS_OK ||
	    (r = apply_full_ext(&o, pp, why, sizeof(why))) != CS_OK)
		goto out;
	if (o.renewal && (r = apply_renewal(pp, o.people)) != CS_OK)
		goto out;
	if ((r = gen_pki_new(&k, o.key_pool, o.institution, time(NULL))) !=
	    CS_OK) {
		snprintf(why, sizeof(why), "making the test CA and keys");
		goto out;
	}
	for (size_t i = 0; i < o.people; i++)
		if ((r = gen_pki_want(&k, pp[i].key_type)) != CS_OK) {
			snprintf(why, sizeof(why), "making %s keys",
			    gen_key_name(pp[i].key_type));
			goto out;
		}
	if ((r = path_in(path, sizeof(path), o.out, "clientAll.zip")) != CS_OK ||
	    (r = gen_zip_open(&certs, path)) != CS_OK) {
		snprintf(why, sizeof(why), "%s: cannot create", path);
		goto out;
	}
	snprintf(name, sizeof(name), "%s.zip", o.pin_file);
	if ((r = path_in(path, sizeof(path), o.out, name)) != CS_OK ||
	    (r = gen_zip_open(&pins, path)) != CS_OK) {
		snprintf(why, sizeof(why), "%s: cannot create", path);
		goto out;
	}
	if ((r = make_index(&o, &k, pp, &certs)) != CS_OK ||
	    (r = make_p12s(&o, &k, pp, &certs)) != CS_OK ||
	    (r = make_pins(&o, &k, pp, &pins)) != CS_OK) {
		snprintf(why, sizeof(why), "writing the bundle");
		goto out;
	}
	if ((r = apply_archive_breaks(&o, &certs, &pins)) != CS_OK) {
		snprintf(why, sizeof(why), "applying the archive breaks");
		goto out;
	}
	if ((r = gen_zip_close(&certs)) != CS_OK ||
	    (r = gen_zip_close(&pins)) != CS_OK) {
		snprintf(why, sizeof(why), "writing the archives");
		goto out;
	}
	if ((r = path_in(path, sizeof(path), o.out, "ca.pem")) != CS_OK ||
	    (r = gen_pki_write_ca(&k, path)) != CS_OK ||
	    (r = path_in(path, sizeof(path), o.out, "expect.tsv")) != CS_OK ||
	    (r = write_expect(&o, pp, path)) != CS_OK) {
		snprintf(why, sizeof(why), "%s: cannot write", path);
		goto out;
	}
	for (size_t i = 0; i < o.people; i++) {
		nprof[pp[i].profile]++;
		nenc[pp[i].enc]++;
		nother += pp[i].key_type != GEN_KEY_RSA2048;
	}
	fprintf(stderr, "upkigen: %zu people (client %zu, client+smime %zu, "
	    "smime %zu; 3des %zu, rc2-40 %zu, aes-256 %zu; %zu keys not "
	    "RSA-2048), %zu record and %zu archive breaks, in %s\n", o.people,
	    nprof[0], nprof[1], nprof[2], nenc[0], nenc[1], nenc[2], nother,
	    o.nbrk, o.nzbrk, o.out);
out:
	if (certs.za != NULL || certs.path != NULL) {
		if (certs.za != NULL)
			zip_discard(certs.za);
		free(certs.path);
	}
	if (pins.za != NULL || pins.path != NULL) {
		if (pins.za != NULL)
			zip_discard(pins.za);
		free(pins.path);
	}
	gen_pki_free(&k);
	gen_pki_fini(&pv);
	free(pp);
	if (r != CS_OK) {
		fprintf(stderr, "upkigen: %s (%s)\n", why[0] ? why : "failed",
		    cs_strerror(r));
		return 1;
	}
	return 0;
}
