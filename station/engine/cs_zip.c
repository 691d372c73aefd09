/* cs_zip.c - libzip with limits, for downloads we do not trust blindly. */
#include "cs_zip.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zip.h>

#define RATIO_FLOOR (64u * 1024u)

struct cs_zip {
	zip_t *za;
	size_t n;
	uint64_t max_entry;
};

struct cs_zip_stream {
	zip_file_t *zf;
	const char *name; /* the entry's, owned by the archive */
	uint64_t size;    /* what the entry declares */
	uint64_t got;     /* what it gave so far */
	char why[256];    /* why the last read failed, "" if none did */
};

void cs_zip_default_limits(cs_zip_limits *lim)
{
	lim->max_entries = 25000;
	lim->max_entry = 64u << 20;
	lim->max_total = 1024u << 20;
	lim->max_ratio = 100;
}

static int bad_name(const char *name)
{
	const char *p = name;

	if (name[0] == '/' || name[0] == '\\' || strchr(name, ':') != NULL)
		return 1;
	while (*p != '\0') {
		size_t seg = strcspn(p, "/\\");

		if (seg == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += seg;
		if (*p != '\0')
			p++;
	}
	return 0;
}

static int is_link(zip_t *za, zip_uint64_t i)
{
	zip_uint8_t os;
	zip_uint32_t attr;

	if (zip_file_get_external_attributes(za, i, 0, &os, &attr) != 0)
		return 0;
	return os == ZIP_OPSYS_UNIX && S_ISLNK((mode_t)(attr >> 16));
}

static int check_entries(cs_zip *z, const cs_zip_limits *lim, char *why,
    size_t whylen)
{
	uint64_t total = 0;

	if ((uint64_t)z->n > lim->max_entries) {
		snprintf(why, whylen, _("%zu entries, more than the limit of %llu"),
		    z->n, (unsigned long long)lim->max_entries);
		return CS_ERR_LIMIT;
	}
	for (size_t i = 0; i < z->n; i++) {
		zip_stat_t st;
		const char *name;

		if (zip_stat_index(z->za, i, 0, &st) != 0 ||
		    (st.valid & ZIP_STAT_NAME) == 0) {
			snprintf(why, whylen, _("entry %zu cannot be read"), i);
			return CS_ERR_FORMAT;
		}
		name = st.name;
		if (bad_name(name)) {
			snprintf(why, whylen, _("entry '%s' points outside the "
			    "archive (absolute path or '..')"), name);
			return CS_ERR_FORMAT;
		}
		if (is_link(z->za, i)) {
			snprintf(why, whylen, _("entry '%s' is a symbolic link"), name);
			return CS_ERR_FORMAT;
		}
		/* The ratio first: it names a bomb for what it is. */
		if (st.size > RATIO_FLOOR &&
		    st.size / (st.comp_size ? st.comp_size : 1) > lim->max_ratio) {
			snprintf(why, whylen, _("entry '%s' expands %llu times, more "
			    "than the limit of %llu (a zip bomb?)"), name,
			    (unsigned long long)(st.size / (st.comp_size ?
			    st.comp_size : 1)), (unsigned long long)lim->max_ratio);
			return CS_ERR_LIMIT;
		}
		if (st.size > lim->max_entry) {
			snprintf(why, whylen, _("entry '%s' is %llu bytes, more than "
			    "the limit of %llu"), name, (unsigned long long)st.size,
			    (unsigned long long)lim->max_entry);
			return CS_ERR_LIMIT;
		}
		total += st.size;
		if (total > lim->max_total) {
			snprintf(why, whylen, _("the files add up to more than the "
			    "limit of %llu bytes"), (unsigned long long)lim->max_total);
			return CS_ERR_LIMIT;
		}
	}
	return CS_OK;
}

int cs_zip_open(cs_zip **out, const char *path, const cs_zip_limits *lim,
    char *why, size_t whylen)
{
	cs_zip *z;
	int zerr = 0, r;
	zip_int64_t n;

	*out = NULL;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return CS_ERR_NOMEM;
	if ((z->za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr)) == NULL) {
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		if (zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ)
			snprintf(why, whylen, _("cannot open: %s"), zip_error_strerror(&ze));
		else
			snprintf(why, whylen, _("not a zip archive (%s)"),
			    zip_error_strerror(&ze));
		zip_error_fini(&ze);
		free(z);
		return zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN ? CS_ERR_IO :
		    CS_ERR_FORMAT;
	}
	n = zip_get_num_entries(z->za, 0);
	z->n = n < 0 ? 0 : (size_t)n;
	z->max_entry = lim->max_entry;
	if ((r = check_entries(z, lim, why, whylen)) != CS_OK) {
		cs_zip_close(z);
		return r;
	}
	*out = z;
	return CS_OK;
}

void cs_zip_close(cs_zip *z)
{
	if (z == NULL)
		return;
	zip_discard(z->za);
	free(z);
}

size_t cs_zip_count(const cs_zip *z)
{
	return z->n;
}

const char *cs_zip_name(const cs_zip *z, size_t i)
{
	return zip_get_name(z->za, i, 0);
}

long cs_zip_find(const cs_zip *z, const char *name)
{
	zip_int64_t i = zip_name_locate(z->za, name, 0);

	return i < 0 ? -1 : (long)i;
}

int cs_zip_stream_open(cs_zip *z, size_t i, cs_zip_stream **out)
{
	cs_zip_stream *s;
	zip_stat_t st;

	*out = NULL;
	if (zip_stat_index(z->za, i, 0, &st) != 0 ||
	    (st.valid & (ZIP_STAT_NAME | ZIP_STAT_SIZE)) !=
	    (ZIP_STAT_NAME | ZIP_STAT_SIZE))
		return CS_ERR_FORMAT;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CS_ERR_NOMEM;
	if ((s->zf = zip_fopen_index(z->za, i, 0)) == NULL) {
		free(s);
		return CS_ERR_FORMAT;
	}
	s->name = st.name;
	s->size = st.size;
	*out = s;
	return CS_OK;
}

/* An entry gives exactly the bytes its headers declare: the CRC covers only
 * what is there, so a header claiming more (or fewer) bytes than the entry
 * holds is caught here, by counting. */
ssize_t cs_zip_stream_read(void *stream, void *buf, size_t n)
{
	cs_zip_stream *s = stream;
	zip_int64_t got;

	if (s->why[0] != '\0')
		return -1;
	/* One byte past the declared size, to see whether there is more. */
	if (n > s->size - s->got + 1)
		n = (size_t)(s->size - s->got + 1);
	if ((got = zip_fread(s->zf, buf, n)) < 0) {
		snprintf(s->why, sizeof(s->why), "entry '%s' cannot be read: %s",
		    s->name, zip_file_strerror(s->zf));
		return -1;
	}
	s->got += (uint64_t)got;
	if (s->got > s->size) {
		snprintf(s->why, sizeof(s->why), "entry '%s' holds more than the "
		    "%llu bytes it declares", s->name,
		    (unsigned long long)s->size);
		return -1;
	}
	if (got == 0 && n > 0 && s->got < s->size) {
		snprintf(s->why, sizeof(s->why), "entry '%s' declares %llu bytes "
		    "but holds %llu", s->name, (unsigned long long)s->size,
		    (unsigned long long)s->got);
		return -1;
	}
	return (ssize_t)got;
}

const char *cs_zip_stream_why(const cs_zip_stream *s)
{
	return s->why;
}

void cs_zip_stream_close(cs_zip_stream *s)
{
	if (s == NULL)
		return;
	zip_fclose(s->zf);
	free(s);
}

int cs_zip_read(cs_zip *z, size_t i, unsigned char **buf, size_t *len,
    char *why, size_t whylen)
{
	cs_zip_stream *s = NULL;
	zip_stat_t st;
	unsigned char *b = NULL;
	unsigned char extra;
	size_t have = 0;
	ssize_t got;
	int r;

	*buf = NULL;
	*len = 0;
	if (zip_stat_index(z->za, i, 0, &st) != 0 || st.size > z->max_entry) {
		snprintf(why, whylen, _("entry %zu cannot be read"), i);
		return CS_ERR_FORMAT;
	}
	if ((r = cs_zip_stream_open(z, i, &s)) != CS_OK) {
		snprintf(why, whylen, _("entry '%s' cannot be opened"), st.name);
		return r;
	}
	if ((b = malloc(st.size ? st.size : 1)) == NULL) {
		r = CS_ERR_NOMEM;
		goto out;
	}
	while (have < st.size &&
	    (got = cs_zip_stream_read(s, b + have, st.size - have)) > 0)
		have += (size_t)got;
	/* Read to the end: the stream tells a size that was not true. */
	if (have < st.size || cs_zip_stream_read(s, &extra, 1) != 0) {
		snprintf(why, whylen, "%s", cs_zip_stream_why(s));
		r = CS_ERR_FORMAT;
		goto out;
	}
	*buf = b;
	*len = have;
	b = NULL;
	r = CS_OK;
out:
	free(b);
	cs_zip_stream_close(s);
	return r;
}
