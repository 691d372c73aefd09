/* cs_pairing.c - reading the card-printing system's pairing list. */
#include "cs_pairing.h"
#include "cs_err.h"
#include "cs_tsv.h"
#include "cs_i18n.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s) || *s == '"')
		s++;
	e = s + strlen(s);
	while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '"'))
		*--e = '\0';
	return s;
}

/* Split a CSV line of three plain fields (the list has no commas inside
 * its values). */
static int split3(char *line, char **f)
{
	int n = 0;

	for (char *s = line; n < 3; n++) {
		char *comma = strchr(s, ',');

		f[n] = s;
		if (comma == NULL) {
			n++;
			break;
		}
		*comma = '\0';
		s = comma + 1;
	}
	for (int i = 0; i < n; i++)
		f[i] = trim(f[i]);
	return n;
}

static int col_of(char **hdr, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(hdr[i], name) == 0)
			return i;
	return -1;
}

int cs_pairing_load(const char *path, cs_pairing *out, char *why, size_t whylen)
{
	FILE *f = fopen(path, "rb");
	char raw[1024], line[3 * 1024];
	int ci[3] = {-1, -1, -1}, r = CS_OK;
	size_t lineno = 0, cap = 0;

	memset(out, 0, sizeof(*out));
	if (f == NULL) {
		snprintf(why, whylen, _("%s: cannot be read"), path);
		return CS_ERR_IO;
	}
	while (r == CS_OK && fgets(raw, sizeof(raw), f) != NULL) {
		char *fl[3];
		size_t len;
		int n;

		lineno++;
		/* A longer line would be read as two, its tail a pair of its
		 * own: refuse it (and a NUL byte, which hides the line's end). */
		if (strchr(raw, '\n') == NULL && !feof(f)) {
			if (strlen(raw) < sizeof(raw) - 1)
				snprintf(why, whylen, _("%s line %zu: holds a NUL byte"),
				    path, lineno);
			else
				snprintf(why, whylen, _("%s line %zu: longer than %zu "
				    "bytes"), path, lineno, sizeof(raw) - 2);
			r = CS_ERR_FORMAT;
			break;
		}
		raw[strcspn(raw, "\r\n")] = '\0';
		if (cs_text_to_utf8(raw, strlen(raw), line, sizeof(line), &len) != CS_OK) {
			snprintf(why, whylen, _("%s line %zu: neither UTF-8 nor CP932"), path,
			    lineno);
			r = CS_ERR_FORMAT;
			break;
		}
		if (lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
			memmove(line, line + 3, strlen(line + 3) + 1);
		n = split3(line, fl);
		if (lineno == 1) {
			ci[0] = col_of(fl, n, "printed_no");
			ci[1] = col_of(fl, n, "chip_serial");
			ci[2] = col_of(fl, n, "person");
			if (ci[2] < 0 || (ci[0] < 0 && ci[1] < 0)) {
				snprintf(why, whylen, _("%s: the header must name person and "
				    "printed_no or chip_serial"), path);
				r = CS_ERR_FORMAT;
			}
			continue;
		}
		if (n == 1 && fl[0][0] == '\0')
			continue;
		if (out->n == cap) {
			cs_pair *g = realloc(out->p, (cap = cap ? 2 * cap : 64) * sizeof(*g));

			if (g == NULL) {
				r = CS_ERR_NOMEM;
				break;
			}
			out->p = g;
		}
		memset(&out->p[out->n], 0, sizeof(cs_pair));
		out->p[out->n].line = lineno;
		if (ci[0] >= 0 && ci[0] < n)
			snprintf(out->p[out->n].printed_no, sizeof(out->p[0].printed_no),
			    "%s", fl[ci[0]]);
		if (ci[1] >= 0 && ci[1] < n)
			snprintf(out->p[out->n].chip_serial, sizeof(out->p[0].chip_serial),
			    "%s", fl[ci[1]]);
		if (ci[2] < n)
			snprintf(out->p[out->n].person, sizeof(out->p[0].person), "%s",
			    fl[ci[2]]);
		if (out->p[out->n].person[0] == '\0') {
			snprintf(why, whylen, _("%s line %zu: no person"), path, lineno);
			r = CS_ERR_FORMAT;
			break;
		}
		out->n++;
	}
	fclose(f);
	if (r != CS_OK)
		cs_pairing_free(out);
	return r;
}

void cs_pairing_free(cs_pairing *l)
{
	free(l->p);
	l->p = NULL;
	l->n = 0;
}

/* Compare chip serials ignoring case and dashes. A serial of nothing but
 * dashes (a list's "unknown") names no card: a card that offers no chip
 * serial must not take that line's person. */
static int same_chip(const char *a, const char *b)
{
	int digits = 0;

	for (;;) {
		while (*a == '-' || *a == ':')
			a++;
		while (*b == '-' || *b == ':')
			b++;
		if (toupper((unsigned char)*a) != toupper((unsigned char)*b))
			return 0;
		if (*a == '\0')
			return digits;
		digits = 1;
		a++;
		b++;
	}
}

const cs_pair *cs_pairing_by_chip(const cs_pairing *l, const char *chip)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->p[i].chip_serial[0] && same_chip(l->p[i].chip_serial, chip))
			return &l->p[i];
	return NULL;
}

const cs_pair *cs_pairing_by_printed(const cs_pairing *l, const char *printed)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->p[i].printed_no[0] && strcmp(l->p[i].printed_no, printed) == 0)
			return &l->p[i];
	return NULL;
}

const cs_pair *cs_pairing_by_person(const cs_pairing *l, const char *staff_no,
    const char *mail)
{
	for (size_t i = 0; i < l->n; i++) {
		const cs_pair *p = &l->p[i];

		if (cs_pair_is_mail(p) ? mail != NULL &&
		    strcasecmp(p->person, mail) == 0 : staff_no != NULL &&
		    strcmp(p->person, staff_no) == 0)
			return p;
	}
	return NULL;
}

int cs_pair_is_mail(const cs_pair *p)
{
	return strchr(p->person, '@') != NULL;
}
