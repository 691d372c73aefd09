/* sim_image.c - saving and loading card images atomically. */
#include "sim_image.h"
#include "sim_card.h"
#include "sim_fs.h"
#include "sim_key.h"
#include "sim_piv.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define IMAGE_MAGIC "cardsim-image 1"

void sim_image_put_hex(FILE *f, const uint8_t *v, size_t len)
{
	size_t i;

	if (len == 0) {
		fputs(" -", f);
		return;
	}
	fputc(' ', f);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", v[i]);
}

static int hex_val(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode hex (or "-" for empty) into a blob. */
int sim_image_get_hex(const char *s, struct sim_blob *b)
{
	size_t n, i;
	int hi, lo;

	if (s == NULL)
		return SIM_ERR_FORMAT;
	if (strcmp(s, "-") == 0) {
		sim_blob_free(b);
		return SIM_OK;
	}
	n = strlen(s);
	if (n % 2 != 0 || sim_blob_set(b, NULL, n / 2) != SIM_OK)
		return SIM_ERR_FORMAT;
	for (i = 0; i < n / 2; i++) {
		if ((hi = hex_val(s[2 * i])) < 0 ||
		    (lo = hex_val(s[2 * i + 1])) < 0)
			return SIM_ERR_FORMAT;
		b->v[i] = (uint8_t)(hi << 4 | lo);
	}
	return SIM_OK;
}

int sim_image_parse_serial(const char *hex, uint8_t out[SIM_SERIAL_LEN])
{
	struct sim_blob b = {0};
	int ret = SIM_ERR_USAGE;

	if (sim_image_get_hex(hex, &b) == SIM_OK && b.len >= 1 &&
	    b.len <= SIM_SERIAL_LEN) {
		memset(out, 0, SIM_SERIAL_LEN);
		memcpy(out + SIM_SERIAL_LEN - b.len, b.v, b.len);
		ret = SIM_OK;
	}
	sim_blob_free(&b);
	return ret;
}

static void put_pin(FILE *f, const char *name, const struct sim_pin *p)
{
	fprintf(f, "%s %d %d %d", name, p->set, p->tries, p->max_tries);
	sim_image_put_hex(f, p->value, p->set ? p->len : 0);
	fputc('\n', f);
}

static void put_files(FILE *f, const struct sim_file *df, const char *path)
{
	char sub[256];
	int i;

	for (i = 0; i < df->nchild; i++) {
		const struct sim_file *c = df->child[i];
		fprintf(f, "file %s %04x %s", path, c->fid,
		    c->is_df ? "df" : c->transparent ? "ef" : "rf");
		sim_image_put_hex(f, c->fci.v, c->fci.len);
		sim_image_put_hex(f, c->data.v, c->data.len);
		fputc('\n', f);
		if (c->is_df && strlen(path) + 6 < sizeof(sub)) {
			snprintf(sub, sizeof(sub), "%s/%04x", path, c->fid);
			put_files(f, c, sub);
		}
	}
}

int sim_image_save(const struct sim_card *c, const char *path)
{
	char tmp[4096], dir[4096];
	FILE *f = NULL;
	int fd = -1, i, j, ret = SIM_ERR_IO;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return SIM_ERR_USAGE;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || (f = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	fprintf(f, "%s\n", IMAGE_MAGIC);
	fputs("serial", f);
	sim_image_put_hex(f, c->serial, SIM_SERIAL_LEN);
	fprintf(f, "\nstate %d\nimport %d\n", c->state, c->import_allowed);
	put_pin(f, "pin", &c->pin);
	put_pin(f, "puk", &c->puk);
	for (i = 0; i < SIM_KEY_MAX; i++) {
		if (c->key[i].type == SIM_KEY_NONE)
			continue;
		fprintf(f, "key %d %s", i,
		    c->key[i].type == SIM_KEY_RSA ? "rsa" : "ec");
		for (j = 0; j < 7; j++)
			sim_image_put_hex(f, c->key[i].part[j].v,
			    c->key[i].part[j].len);
		fputc('\n', f);
	}
	put_files(f, c->mf, "3f00");
	if (c->piv != NULL)
		sim_piv_save(c, f);
	fputs("end\n", f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0)
		goto out;
	/* Make the rename itself durable. */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		fsync(fd);
	ret = SIM_OK;
out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (ret != SIM_OK)
		unlink(tmp);
	return ret;
}

static struct sim_file *find_path(struct sim_file *mf, const char *path)
{
	struct sim_file *df = mf;
	const char *p = path;
	int i;

	if (strncmp(p, "3f00", 4) != 0)
		return NULL;
	p += 4;
	while (*p == '/') {
		unsigned fid = (unsigned)strtoul(p + 1, NULL, 16);
		for (i = 0; i < df->nchild; i++)
			if (df->child[i]->fid == fid && df->child[i]->is_df)
				break;
		if (i == df->nchild)
			return NULL;
		df = df->child[i];
		p += 5;
	}
	return *p == '\0' ? df : NULL;
}

static int load_pin(struct sim_pin *p, char **save)
{
	struct sim_blob b = {0};
	char *t[4];
	int i;

	for (i = 0; i < 4; i++)
		if ((t[i] = strtok_r(NULL, " \n", save)) == NULL)
			return SIM_ERR_FORMAT;
	p->set = atoi(t[0]);
	p->tries = atoi(t[1]);
	p->max_tries = atoi(t[2]);
	if (sim_image_get_hex(t[3], &b) != SIM_OK || b.len > SIM_PIN_MAX) {
		sim_blob_free(&b);
		return SIM_ERR_FORMAT;
	}
	if (b.len > 0)
		memcpy(p->value, b.v, b.len);
	p->len = b.len;
	sim_blob_free(&b);
	return SIM_OK;
}

static int load_line(struct sim_card *c, char *line)
{
	char *save = NULL, *tok = strtok_r(line, " \n", &save), *t;
	struct sim_blob fci = {0}, data = {0}, serial = {0};
	struct sim_file *parent, *f;
	int i, idx, ret = SIM_ERR_FORMAT;

	if (tok == NULL || strcmp(tok, "end") == 0)
		return SIM_OK;
	if (strcmp(tok, "serial") == 0) {
		if (sim_image_get_hex(strtok_r(NULL, " \n", &save),
		    &serial) == SIM_OK &&
		    serial.len == SIM_SERIAL_LEN) {
			memcpy(c->serial, serial.v, SIM_SERIAL_LEN);
			ret = SIM_OK;
		}
	} else if (strcmp(tok, "state") == 0 &&
	    (t = strtok_r(NULL, " \n", &save)) != NULL) {
		c->state = atoi(t);
		ret = SIM_OK;
	} else if (strcmp(tok, "import") == 0 &&
	    (t = strtok_r(NULL, " \n", &save)) != NULL) {
		c->import_allowed = atoi(t);
		ret = SIM_OK;
	} else if (strcmp(tok, "applet") == 0 &&
	    (t = strtok_r(NULL, " \n", &save)) != NULL &&
	    (strcmp(t, "piv") == 0 || strcmp(t, "piv-generic") == 0)) {
		ret = sim_piv_init(c, strcmp(t, "piv-generic") == 0);
	} else if (strncmp(tok, "piv-", 4) == 0) {
		ret = sim_piv_load_line(c, tok, &save);
	} else if (strcmp(tok, "pin") == 0) {
		ret = load_pin(&c->pin, &save);
	} else if (strcmp(tok, "puk") == 0) {
		ret = load_pin(&c->puk, &save);
	} else if (strcmp(tok, "key") == 0) {
		if ((t = strtok_r(NULL, " \n", &save)) == NULL ||
		    (idx = atoi(t)) < 0 || idx >= SIM_KEY_MAX ||
		    (t = strtok_r(NULL, " \n", &save)) == NULL)
			goto out;
		sim_key_clear(&c->key[idx]);
		c->key[idx].type = strcmp(t, "rsa") == 0 ? SIM_KEY_RSA :
		    SIM_KEY_EC;
		for (i = 0; i < 7; i++)
			if (sim_image_get_hex(strtok_r(NULL, " \n", &save),
			    &c->key[idx].part[i]) != SIM_OK)
				goto out;
		ret = SIM_OK;
	} else if (strcmp(tok, "file") == 0) {
		char *path = strtok_r(NULL, " \n", &save);
		char *fid = strtok_r(NULL, " \n", &save);
		char *kind = strtok_r(NULL, " \n", &save);
		if (path == NULL || fid == NULL || kind == NULL ||
		    (parent = find_path(c->mf, path)) == NULL ||
		    sim_image_get_hex(strtok_r(NULL, " \n", &save), &fci) != SIM_OK ||
		    sim_image_get_hex(strtok_r(NULL, " \n", &save),
		    &data) != SIM_OK)
			goto out;
		f = sim_fs_new((uint16_t)strtoul(fid, NULL, 16),
		    strcmp(kind, "df") == 0, strcmp(kind, "ef") == 0,
		    fci.v, fci.len, data.len);
		if (f == NULL)
			goto out;
		if (data.len > 0)
			memcpy(f->data.v, data.v, data.len);
		if (sim_fs_add(parent, f) != SIM_OK) {
			sim_fs_free(f);
			goto out;
		}
		ret = SIM_OK;
	}
out:
	sim_blob_free(&fci);
	sim_blob_free(&data);
	sim_blob_free(&serial);
	return ret;
}

int sim_image_load(struct sim_card *c, const char *path)
{
	static const uint8_t zero[SIM_SERIAL_LEN];
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = SIM_ERR_FORMAT, first = 1, ended = 0;

	if ((f = fopen(path, "re")) == NULL)
		return SIM_ERR_IO;
	if (sim_card_init_blank(c, zero) != SIM_OK) {
		fclose(f);
		return SIM_ERR_NOMEM;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (first) {
			if (strncmp(line, IMAGE_MAGIC, strlen(IMAGE_MAGIC)) != 0)
				goto out;
			first = 0;
			continue;
		}
		if (strcmp(line, "end\n") == 0)
			ended = 1;
		if (load_line(c, line) != SIM_OK)
			goto out;
	}
	/* An image without its last line is not an image. */
	ret = ended ? SIM_OK : SIM_ERR_FORMAT;
out:
	if (line != NULL) {
		OPENSSL_cleanse(line, cap);
		free(line);
	}
	fclose(f);
	if (ret != SIM_OK)
		sim_card_free(c);
	else
		sim_card_reset(c);
	return ret;
}
