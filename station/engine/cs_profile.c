/* cs_profile.c - reading card profiles and applying their PIN policy. */
#include "cs_profile.h"
#include "cs_err.h"
#include "cs_paths.h"
#include "cs_i18n.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#ifndef CS_PROFILE_DIR
#define CS_PROFILE_DIR "/usr/share/cardstation/cardprofiles"
#endif

/* The one place that says where card profiles are, for every command
 * (--profiles DIR, when given, is passed in its stead). */
const char *cs_profile_dir(void)
{
	const char *d = getenv("CARDSTATION_PROFILES");

	if (d != NULL && *d != '\0')
		return d;
	return cs_paths_data(CS_PROFILE_DIR, "cardprofiles");
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int set_str(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return CS_ERR_LIMIT;
	memcpy(dst, v, strlen(v) + 1);
	return CS_OK;
}

static int set_uint(unsigned *dst, const char *v)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n > 64)
		return CS_ERR_FORMAT;
	*dst = (unsigned)n;
	return CS_OK;
}

static int set_choice(int *dst, const char *v, const char *one, const char *zero)
{
	if (strcmp(v, one) == 0)
		*dst = 1;
	else if (strcmp(v, zero) == 0)
		*dst = 0;
	else
		return CS_ERR_FORMAT;
	return CS_OK;
}

static int set_charset(char *dst, size_t cap, const char *v)
{
	if (strcmp(v, "digits") != 0 && strcmp(v, "alnum") != 0 &&
	    strcmp(v, "hex") != 0)
		return CS_ERR_FORMAT;
	return set_str(dst, cap, v);
}

/* One cs_key_type name: rsa-<bits> or ec-<OpenSSL curve name>. */
static int key_type_ok(const char *t, size_t n)
{
	size_t i;

	if (n >= sizeof(((cs_profile *)0)->key_types[0]))
		return 0;
	if (n > 4 && strncmp(t, "rsa-", 4) == 0) {
		for (i = 4; i < n; i++)
			if (!isdigit((unsigned char)t[i]))
				return 0;
		return t[4] != '0';
	}
	if (n > 3 && strncmp(t, "ec-", 3) == 0) {
		for (i = 3; i < n; i++)
			if (!isalnum((unsigned char)t[i]) && t[i] != '-' &&
			    t[i] != '_')
				return 0;
		return 1;
	}
	return 0;
}

/* key.types = rsa-2048, ec-prime256v1: commas and/or spaces between. */
static int set_key_types(cs_profile *p, const char *v)
{
	unsigned n = 0;

	while (*v != '\0') {
		size_t len = strcspn(v, ", \t");

		if (len > 0) {
			if (n == CS_PROFILE_MAX_KEY_TYPES || !key_type_ok(v, len))
				return CS_ERR_FORMAT;
			memcpy(p->key_types[n], v, len);
			p->key_types[n++][len] = '\0';
		}
		v += len;
		v += strspn(v, ", \t");
	}
	if (n == 0)
		return CS_ERR_FORMAT;
	p->nkey_types = n;
	return CS_OK;
}

static const char *const idsrc_names[] = {"cplc", "assigned"};

const char *cs_profile_idsrc_name(cs_profile_idsrc src)
{
	return src >= CS_PROFILE_ID_CPLC && src <= CS_PROFILE_ID_ASSIGNED ?
	    idsrc_names[src - CS_PROFILE_ID_CPLC] : "?";
}

/* identity = cplc, assigned: each source once, commas and/or spaces. */
static int set_identity(cs_profile *p, const char *v)
{
	unsigned n = 0;

	p->nidentity = 0;
	while (*v != '\0') {
		size_t len = strcspn(v, ", \t");
		int src = 0;

		for (int i = 0; len > 0 && i < 2; i++)
			if (strlen(idsrc_names[i]) == len &&
			    strncmp(v, idsrc_names[i], len) == 0)
				src = CS_PROFILE_ID_CPLC + i;
		if (len > 0) {
			if (src == 0 || n == CS_PROFILE_MAX_ID_SOURCES)
				return CS_ERR_FORMAT;
			for (unsigned k = 0; k < n; k++)
				if (p->identity[k] == (cs_profile_idsrc)src)
					return CS_ERR_FORMAT;   /* twice */
			p->identity[n++] = (cs_profile_idsrc)src;
		}
		v += len;
		v += strspn(v, ", \t");
	}
	if (n == 0)
		return CS_ERR_FORMAT;
	p->nidentity = n;
	return CS_OK;
}

const cs_profile_idsrc *cs_profile_identity(const cs_profile *p, unsigned *n)
{
	static const cs_profile_idsrc cplc_only[] = {CS_PROFILE_ID_CPLC};

	if (p->nidentity == 0) {
		*n = 1;
		return cplc_only;
	}
	*n = p->nidentity;
	return p->identity;
}

int cs_profile_has_identity(const cs_profile *p, cs_profile_idsrc src)
{
	unsigned n;
	const cs_profile_idsrc *s = cs_profile_identity(p, &n);

	for (unsigned i = 0; i < n; i++)
		if (s[i] == src)
			return 1;
	return 0;
}

#define STR(k, f) if (strcmp(key, k) == 0) return set_str(p->f, sizeof(p->f), v)

static int set_key(cs_profile *p, const char *key, const char *v)
{
	STR("name", name);
	STR("description", description);
	STR("match.aid", match_aid);
	STR("opensc.driver", opensc_driver);
	STR("opensc.pkcs15init.options", p15init_options);
	STR("auth.id", auth_id);
	STR("key.id", key_id);
	STR("key.label", key_label);
	STR("cert.label", cert_label);
	if (strcmp(key, "pin.min") == 0) return set_uint(&p->pin_min, v);
	if (strcmp(key, "pin.max") == 0) return set_uint(&p->pin_max, v);
	if (strcmp(key, "pin.tries") == 0) return set_uint(&p->pin_tries, v);
	if (strcmp(key, "puk.length") == 0) return set_uint(&p->puk_len, v);
	if (strcmp(key, "pin.charset") == 0)
		return set_charset(p->pin_charset, sizeof(p->pin_charset), v);
	if (strcmp(key, "puk.charset") == 0)
		return set_charset(p->puk_charset, sizeof(p->puk_charset), v);
	if (strcmp(key, "pin.initial") == 0)
		return set_choice(&p->pin_random, v, "random", "operator");
	if (strcmp(key, "puk.mode") == 0)
		return set_choice(&p->puk_random, v, "random", "institution");
	if (strcmp(key, "ca_chain") == 0)
		return set_choice(&p->ca_chain, v, "yes", "no");
	if (strcmp(key, "key.types") == 0)
		return set_key_types(p, v);
	if (strcmp(key, "identity") == 0)
		return set_identity(p, v);
	if (strcmp(key, "reuse") == 0) {
		static const char *const names[] = {"never", "reinstall",
		    "institution-puk"};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(v, names[i]) == 0) {
				p->reuse = (cs_profile_reuse)i;
				return CS_OK;
			}
		return CS_ERR_FORMAT;
	}
	return CS_ERR_NOTFOUND;
}

int cs_profile_load(const char *path, cs_profile *p, char *why, size_t whylen)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned lineno = 0;
	int r = CS_OK;

	memset(p, 0, sizeof(*p));
	if (f == NULL) {
		snprintf(why, whylen, _("%s: cannot be read"), path);
		return CS_ERR_IO;
	}
	while (r == CS_OK && fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq;

		lineno++;
		/* A line cut by the buffer would be read as two: the tail of a
		 * long comment would become a setting. */
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(why, whylen, _("%s:%u: the line is longer than %zu "
			    "bytes"), path, lineno, sizeof(line) - 2);
			r = CS_ERR_FORMAT;
			break;
		}
		if ((s = strchr(line, '#')) != NULL)
			*s = '\0';
		s = trim(line);
		if (*s == '\0')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(why, whylen, _("%s:%u: expected key = value"), path, lineno);
			r = CS_ERR_FORMAT;
			break;
		}
		*eq = '\0';
		if ((r = set_key(p, trim(s), trim(eq + 1))) != CS_OK)
			snprintf(why, whylen, "%s:%u: %s '%s'", path, lineno,
			    r == CS_ERR_NOTFOUND ? "unknown key" : "bad value for",
			    trim(s));
	}
	fclose(f);
	if (r == CS_OK && (p->name[0] == '\0' || p->opensc_driver[0] == '\0' ||
	    p->pin_min == 0 || p->pin_max < p->pin_min || p->puk_len == 0 ||
	    p->pin_charset[0] == '\0' || p->puk_charset[0] == '\0' ||
	    p->key_id[0] == '\0' || p->auth_id[0] == '\0')) {
		snprintf(why, whylen, _("%s: name, opensc.driver, pin.min/max, "
		    "pin.charset, puk.length, puk.charset, auth.id and key.id are "
		    "required"), path);
		r = CS_ERR_FORMAT;
	}
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const cs_profile *)a)->name, ((const cs_profile *)b)->name);
}

int cs_profile_load_all(const char *dir, cs_profile **out, size_t *n,
    char *why, size_t whylen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	cs_profile *all = NULL;
	size_t cnt = 0;
	int r = CS_OK;

	*out = NULL;
	*n = 0;
	if (d == NULL) {
		snprintf(why, whylen, _("%s: no card profiles there"), dir);
		return CS_ERR_NOTFOUND;
	}
	while (r == CS_OK && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char path[1024];
		cs_profile *grown;

		if (len < 6 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		if ((grown = realloc(all, (cnt + 1) * sizeof(*all))) == NULL) {
			r = CS_ERR_NOMEM;
			break;
		}
		all = grown;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((r = cs_profile_load(path, &all[cnt], why, whylen)) == CS_OK)
			cnt++;
	}
	closedir(d);
	if (r != CS_OK) {
		free(all);
		return r;
	}
	if (cnt > 1)
		qsort(all, cnt, sizeof(*all), by_name);
	*out = all;
	*n = cnt;
	return CS_OK;
}

int cs_profile_find(const char *dir, const char *name, cs_profile *p,
    char *why, size_t whylen)
{
	cs_profile *all;
	size_t n;
	int r;

	if ((r = cs_profile_load_all(dir, &all, &n, why, whylen)) != CS_OK)
		return r;
	r = CS_ERR_NOTFOUND;
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0) {
			*p = all[i];
			r = CS_OK;
		}
	if (r != CS_OK)
		snprintf(why, whylen, _("no card profile '%s' in %s"), name, dir);
	free(all);
	return r;
}

/* The default when a profile names none: see cs_profile.h. */
static const char *const default_key_types[] = {"rsa-2048"};

static const char *key_type_at(const cs_profile *p, unsigned i)
{
	return p->nkey_types > 0 ? p->key_types[i] : default_key_types[i];
}

static unsigned key_type_count(const cs_profile *p)
{
	return p->nkey_types > 0 ? p->nkey_types :
	    (unsigned)(sizeof(default_key_types) / sizeof(default_key_types[0]));
}

int cs_profile_takes_key(const cs_profile *p, const char *key_type)
{
	if (key_type == NULL || *key_type == '\0')
		return 0;
	for (unsigned i = 0; i < key_type_count(p); i++)
		if (strcmp(key_type_at(p, i), key_type) == 0)
			return 1;
	return 0;
}

/* Append s (and sep before it unless first) if it fits whole. */
static void join(char *out, size_t outlen, size_t *pos, const char *sep,
    const char *s)
{
	size_t need = (*pos > 0 ? strlen(sep) : 0) + strlen(s);

	if (*pos + need >= outlen)
		return;
	*pos += (size_t)snprintf(out + *pos, outlen - *pos, "%s%s",
	    *pos > 0 ? sep : "", s);
}

size_t cs_profile_takers(const cs_profile *ps, size_t n, const char *key_type,
    char *out, size_t outlen)
{
	size_t pos = 0, count = 0;

	if (outlen > 0)
		out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (cs_profile_takes_key(&ps[i], key_type)) {
			if (outlen > 0)
				join(out, outlen, &pos, ",", ps[i].name);
			count++;
		}
	return count;
}

cs_problem cs_profile_key_problem(const cs_profile *ps, size_t n,
    const char *key_type, char *takers, size_t takerslen, char *why,
    size_t whylen)
{
	const char *kt = key_type == NULL || *key_type == '\0' ?
	    "of an unknown type" : strcmp(key_type, "other") == 0 ?
	    "neither RSA nor on a named EC curve" : key_type;
	size_t pos;

	if (cs_profile_takers(ps, n, key_type, takers, takerslen) > 0)
		return CS_PROBLEM_NONE;
	if (n == 0) {
		snprintf(why, whylen, _("the key is %s and no card profile is "
		    "loaded to take it"), kt);
		return CS_PROBLEM_KEY_UNSUPPORTED;
	}
	pos = (size_t)snprintf(why, whylen, _("the key is %s and no card "
	    "profile takes it ("), kt);
	for (size_t i = 0; i < n && pos < whylen; i++) {
		pos += (size_t)snprintf(why + pos, whylen - pos, "%s%s takes ",
		    i > 0 ? "; " : "", ps[i].name);
		for (unsigned t = 0; t < key_type_count(&ps[i]) && pos < whylen;
		    t++)
			pos += (size_t)snprintf(why + pos, whylen - pos, "%s%s",
			    t > 0 ? ", " : "", key_type_at(&ps[i], t));
	}
	if (pos < whylen)
		snprintf(why + pos, whylen - pos, ")");
	return CS_PROBLEM_KEY_UNSUPPORTED;
}

static int in_charset(const char *charset, int c)
{
	if (strcmp(charset, "digits") == 0)
		return isdigit(c);
	if (strcmp(charset, "hex") == 0)
		return isxdigit(c);
	return isalnum(c);
}

static int check(const char *what, const char *charset, unsigned min,
    unsigned max, const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);

	if (n < min || n > max) {
		if (min == max)
			snprintf(why, whylen, _("the %s must be exactly %u characters"),
			    what, min);
		else
			snprintf(why, whylen, _("the %s must be %u to %u characters"),
			    what, min, max);
		return CS_ERR_FORMAT;
	}
	for (size_t i = 0; i < n; i++)
		if (!in_charset(charset, (unsigned char)s[i])) {
			snprintf(why, whylen, _("the %s may hold only %s"), what,
			    strcmp(charset, "digits") == 0 ? "digits" :
			    strcmp(charset, "hex") == 0 ? "hexadecimal digits" :
			    "letters and digits");
			return CS_ERR_FORMAT;
		}
	return CS_OK;
}

int cs_profile_check_pin(const cs_profile *p, const char *pin, char *why,
    size_t whylen)
{
	return check("PIN", p->pin_charset, p->pin_min, p->pin_max, pin, why, whylen);
}

int cs_profile_check_puk(const cs_profile *p, const char *puk, char *why,
    size_t whylen)
{
	return check("PUK", p->puk_charset, p->puk_len, p->puk_len, puk, why, whylen);
}

/* Uniform characters of the set by rejection sampling from RAND_bytes. */
static int random_string(const char *charset, unsigned len, cs_secret **out)
{
	static const char digits[] = "0123456789";
	static const char hex[] = "0123456789abcdef";
	static const char alnum[] = "23456789abcdefghjkmnpqrstuvwxyz"; /* no 0/o, 1/l/i */
	const char *set = strcmp(charset, "digits") == 0 ? digits :
	    strcmp(charset, "hex") == 0 ? hex : alnum;
	unsigned setlen = (unsigned)strlen(set), limit = 256 - 256 % setlen;
	cs_secret *s;
	int r;

	if ((r = cs_secret_new(&s, len)) != CS_OK)
		return r;
	while (s->len < len) {
		unsigned char b;

		if (RAND_bytes(&b, 1) != 1) {
			cs_secret_free(s);
			return CS_ERR_CRYPTO;
		}
		if (b < limit)
			s->buf[s->len++] = (unsigned char)set[b % setlen];
	}
	s->buf[s->len] = '\0';
	*out = s;
	return CS_OK;
}

int cs_profile_random_pin(const cs_profile *p, cs_secret **out)
{
	/* Eight characters are enough to type; never fewer than the profile
	 * (and the card) demand. */
	unsigned n = p->pin_max < 8 ? p->pin_max : 8;

	return random_string(p->pin_charset, n < p->pin_min ? p->pin_min : n,
	    out);
}

int cs_profile_random_puk(const cs_profile *p, cs_secret **out)
{
	return random_string(p->puk_charset, p->puk_len, out);
}
