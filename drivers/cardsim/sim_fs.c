/* sim_fs.c - files, their access conditions and the file commands, with
 * the applet's answers (including its quirks: a READ BINARY past the end
 * returns what is there, without a warning). */
#include "sim_fs.h"
#include "sim_tlv.h"

#include <stdlib.h>
#include <string.h>

/* Operations and the byte of the 8-byte tag-86 ACL that guards them. */
#define ACL_DELETE_SELF	1
#define ACL_CREATE_DF	5
#define ACL_WRITE	5
#define ACL_CREATE_EF	6
#define ACL_UPDATE	6
#define ACL_READ	7
#define ACL_DELETE_CHILD 7

static long fci_acl_pos(const uint8_t *fci, size_t len)
{
	if (len < 2)
		return -1;
	long pos = sim_tlv_find(fci, len, 2, fci[1], 0x86);
	return pos >= 0 && (size_t)pos + 9 < len ? pos : -1;
}

struct sim_file *sim_fs_new(uint16_t fid, int is_df, int transparent,
    const uint8_t *fci, size_t fci_len, size_t data_len)
{
	struct sim_file *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->fid = fid;
	f->is_df = is_df;
	f->transparent = transparent;
	if (sim_blob_set(&f->fci, fci, fci_len) != SIM_OK ||
	    (!is_df && sim_blob_set(&f->data, NULL, data_len) != SIM_OK)) {
		sim_fs_free(f);
		return NULL;
	}
	f->acl_pos = fci_acl_pos(f->fci.v, f->fci.len);
	return f;
}

struct sim_file *sim_fs_new_mf(void)
{
	/* The MF's FCI as the applet builds it: no ACL, all allowed. */
	static const uint8_t fci[] = {0x6F, 0x07, 0x82, 0x01, 0x38,
	    0x83, 0x02, 0x3F, 0x00};

	return sim_fs_new(0x3F00, 1, 0, fci, sizeof(fci), 0);
}

void sim_fs_free(struct sim_file *f)
{
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nchild; i++)
		sim_fs_free(f->child[i]);
	sim_blob_free(&f->fci);
	sim_blob_free(&f->data);
	free(f);
}

int sim_fs_add(struct sim_file *parent, struct sim_file *f)
{
	if (parent->nchild >= SIM_CHILDREN_MAX)
		return SIM_ERR_USAGE;
	f->parent = parent;
	parent->child[parent->nchild++] = f;
	return SIM_OK;
}

static struct sim_file *find_children(struct sim_file *df, uint16_t fid,
    int flag, int *stop)
{
	struct sim_file *f;
	int i;

	for (i = 0; i < df->nchild; i++) {
		f = df->child[i];
		if (f->fid == fid) {
			/* The first file with that id decides, as in the
			 * applet: a type mismatch ends the search. */
			if (flag == SIM_FIND_ANY ||
			    (flag == SIM_FIND_DF && f->is_df) ||
			    (flag == SIM_FIND_EF && !f->is_df))
				return f;
			*stop = 1;
			return NULL;
		}
		if (f->is_df) {
			struct sim_file *r = find_children(f, fid, flag, stop);
			if (r != NULL || *stop)
				return r;
		}
	}
	return NULL;
}

struct sim_file *sim_fs_find(struct sim_file *root, uint16_t fid, int flag)
{
	int stop = 0;

	if (root->fid == fid && flag != SIM_FIND_EF)
		return root;
	return find_children(root, fid, flag, &stop);
}

static struct sim_file *find_by_path(struct sim_file *df, const uint8_t *path,
    size_t len)
{
	size_t pos;
	int i;

	for (pos = 0; pos + 1 < len; pos += 2) {
		uint16_t fid = (uint16_t)(path[pos] << 8 | path[pos + 1]);
		for (i = 0; i < df->nchild; i++)
			if (df->child[i]->fid == fid)
				break;
		if (i == df->nchild)
			continue;	/* the applet skips, then fails */
		if (pos == len - 2)
			return df->child[i];
		if (!df->child[i]->is_df)
			return NULL;
		df = df->child[i];
	}
	return NULL;
}

static int df_has_name(const struct sim_file *df, const uint8_t *name,
    size_t len)
{
	const uint8_t *v;
	size_t vlen;

	if (df->fci.len < 2 || sim_tlv_value(df->fci.v, df->fci.len, 2,
	    df->fci.v[1], 0x84, &v, &vlen) != 0)
		return 0;
	return vlen == len && memcmp(v, name, len) == 0;
}

static struct sim_file *find_by_name(struct sim_file *df, const uint8_t *name,
    size_t len)
{
	struct sim_file *r;
	int i;

	if (df_has_name(df, name, len))
		return df;
	for (i = 0; i < df->nchild; i++)
		if (df->child[i]->is_df &&
		    (r = find_by_name(df->child[i], name, len)) != NULL)
			return r;
	return NULL;
}

/* The applet's access check for operation op on file f. */
static uint16_t authenticate(const struct sim_card *c,
    const struct sim_file *f, int op)
{
	uint8_t acl;

	if (f == NULL || f->acl_pos < 0)
		return SW_OK;
	acl = f->fci.v[f->acl_pos + 2 + op];
	if (acl == 0x00)
		return SW_OK;
	if (acl == 0x90 || (acl & 0x9F) == 0x10)
		return c->user_auth ? SW_OK : SW_SECURITY_STATUS;
	return SW_SECURITY_STATUS;
}

static void select_file(struct sim_card *c, struct sim_file *f)
{
	if (f == NULL) {
		c->cur_df = c->mf;
		c->cur_ef = NULL;
	} else if (f->is_df) {
		c->cur_df = f;
	} else {
		c->cur_ef = f;
		c->cur_df = f->parent;
	}
}

uint16_t sim_fs_select(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	struct sim_file *f = NULL;
	uint16_t fid = 0;

	if ((a->p2 & 0xF3) != 0)
		return SW_INCORRECT_P1P2;
	if (a->lc >= 2)
		fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
	switch (a->p1) {
	case 0x00:
		if (a->lc == 0)
			f = c->mf;
		else if (a->lc == 2 &&
		    (f = sim_fs_find(c->mf, fid, SIM_FIND_ANY)) == NULL)
			return SW_FILE_NOT_FOUND;
		break;
	case 0x01:
	case 0x02:
		if (a->lc < 2)
			return SW_UNKNOWN;	/* the applet reads past Lc */
		{
			int stop = 0;
			f = find_children(c->cur_df, fid,
			    a->p1 == 1 ? SIM_FIND_DF : SIM_FIND_EF, &stop);
		}
		if (f == NULL)
			return SW_FILE_NOT_FOUND;
		break;
	case 0x03:
		if (a->lc != 0 || c->cur_df == c->mf)
			return SW_FILE_NOT_FOUND;
		f = c->cur_df->parent;
		break;
	case 0x04:
		if ((f = find_by_name(c->mf, a->data, a->lc)) == NULL)
			return SW_FILE_NOT_FOUND;
		break;
	case 0x08:
		if ((f = find_by_path(c->mf, a->data, a->lc)) == NULL)
			return SW_FILE_NOT_FOUND;
		break;
	case 0x09:
		if ((f = find_by_path(c->cur_df, a->data, a->lc)) == NULL)
			return SW_FILE_NOT_FOUND;
		break;
	default:
		return SW_INCORRECT_P1P2;
	}
	select_file(c, f);
	if (f == NULL)
		return SW_UNKNOWN;	/* Lc of 1 or >2: a null file in the applet */
	switch (a->p2 & 0xFC) {
	case 0x00:
	case 0x04:
		memcpy(r->data, f->fci.v, f->fci.len);
		r->len = f->fci.len;
		break;
	case 0x08:
		return SW_INCORRECT_P1P2;
	default:
		break;
	}
	return SW_OK;
}

/* The EF a READ/UPDATE BINARY addresses: by short file id or current. */
static uint16_t binary_target(struct sim_card *c, const struct sim_apdu *a,
    struct sim_file **ef, size_t *off)
{
	int i;

	*ef = NULL;
	if ((a->p1 & 0xE0) == 0x80) {
		uint8_t sfi = a->p1 & 0x1F;
		*off = a->p2;
		for (i = 0; i < c->cur_df->nchild; i++)
			if (!c->cur_df->child[i]->is_df &&
			    (c->cur_df->child[i]->fid & 0x1F) == sfi)
				*ef = c->cur_df->child[i];
		if (*ef == NULL)
			return SW_FILE_NOT_FOUND;
	} else if ((a->p1 & 0x80) == 0) {
		*off = (size_t)(a->p1 & 0x7F) << 8 | a->p2;
		*ef = c->cur_ef;
	} else {
		return SW_INCORRECT_P1P2;
	}
	return SW_OK;
}

uint16_t sim_fs_read_binary(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	struct sim_file *ef;
	size_t off, n;
	uint16_t sw;

	if ((sw = binary_target(c, a, &ef, &off)) != SW_OK)
		return sw;
	if ((sw = authenticate(c, ef, ACL_READ)) != SW_OK)
		return sw;
	if (ef == NULL || !ef->transparent)
		return SW_INCOMPATIBLE_FILE;
	if (off >= ef->data.len)
		return SW_OFFSET_OUTSIDE_EF;
	n = a->has_le ? a->le : 256;
	if (n > ef->data.len - off)
		n = ef->data.len - off;
	memcpy(r->data, ef->data.v + off, n);
	r->len = n;
	return SW_OK;
}

uint16_t sim_fs_update_binary(struct sim_card *c, const struct sim_apdu *a)
{
	struct sim_file *ef;
	size_t off;
	uint16_t sw;

	if ((sw = binary_target(c, a, &ef, &off)) != SW_OK)
		return sw;
	if ((sw = authenticate(c, ef, ACL_UPDATE)) != SW_OK)
		return sw;
	if (ef == NULL || !ef->transparent)
		return SW_INCOMPATIBLE_FILE;
	if (off + a->lc > ef->data.len)
		return SW_OFFSET_OUTSIDE_EF;
	if (a->lc > 0)
		memcpy(ef->data.v + off, a->data, a->lc);
	select_file(c, ef);
	c->dirty = 1;
	c->eeprom_bytes += a->lc;
	return SW_OK;
}

uint16_t sim_fs_create(struct sim_card *c, const struct sim_apdu *a)
{
	const uint8_t *fci = a->data, *v;
	size_t len = a->lc, inner_off, vlen, data_size = 128;
	long inner, pos;
	uint16_t fid, sw;
	uint8_t fdb;
	struct sim_file *f;

	if (a->p1 != 0 || a->p2 != 0)
		return SW_INCORRECT_P1P2;
	if (len < 2)
		return SW_DATA_INVALID;
	if (fci[0] != 0x6F && fci[0] != 0x62)
		return SW_DATA_INVALID;
	if ((inner = sim_tlv_len(fci, len, 1)) < 0 ||
	    (size_t)inner != len - 1 - sim_tlv_len_size(inner))
		return SW_DATA_INVALID;
	inner_off = 1 + sim_tlv_len_size(inner);
	if (!sim_tlv_consistent(fci, len, inner_off, (size_t)inner))
		return SW_DATA_INVALID;
	if (sim_tlv_value(fci, len, inner_off, (size_t)inner, 0x83, &v,
	    &vlen) != 0 || vlen != 2)
		return SW_DATA_INVALID;
	fid = (uint16_t)(v[0] << 8 | v[1]);
	if (sim_fs_find(c->mf, fid, SIM_FIND_ANY) != NULL)
		return SW_DATA_INVALID;
	if (sim_tlv_value(fci, len, inner_off, (size_t)inner, 0x86, &v,
	    &vlen) == 0 && vlen != 8)
		return SW_DATA_INVALID;
	if (sim_tlv_value(fci, len, inner_off, (size_t)inner, 0x82, &v,
	    &vlen) != 0 || vlen < 1 || vlen > 6)
		return SW_DATA_INVALID;
	fdb = v[0];
	if ((fdb & 0x3F) == 0x38) {
		if ((sw = authenticate(c, c->cur_df, ACL_CREATE_DF)) != SW_OK)
			return sw;
		f = sim_fs_new(fid, 1, 0, fci, len, 0);
	} else if ((fdb & 0x30) == 0) {
		if ((sw = authenticate(c, c->cur_df, ACL_CREATE_EF)) != SW_OK)
			return sw;
		if ((fdb & 0x07) == 0)
			return SW_DATA_INVALID;
		if ((fdb & 0x07) == 1) {
			pos = sim_tlv_find(fci, len, 2, fci[1], 0x81);
			if (pos >= 0 && fci[pos + 1] == 2)
				data_size = (size_t)(fci[pos + 2] << 8 |
				    fci[pos + 3]);
			else if (pos >= 0 && fci[pos + 1] == 1)
				data_size = fci[pos + 2];
			else if (pos >= 0)
				return SW_DATA_INVALID;
			/* A Java short: sizes of 8000 and more are negative
			 * and the card cannot allocate them. */
			if (data_size >= 0x8000)
				return SW_UNKNOWN;
		}
		f = sim_fs_new(fid, 0, (fdb & 0x07) == 1, fci, len,
		    (fdb & 0x07) == 1 ? data_size : 0);
	} else {
		return SW_DATA_INVALID;
	}
	if (f == NULL)
		return SW_FILE_FULL;
	if (sim_fs_add(c->cur_df, f) != SIM_OK) {
		sim_fs_free(f);
		return SW_FILE_FULL;
	}
	select_file(c, f);
	c->dirty = 1;
	c->eeprom_bytes += len + f->data.len;
	return SW_OK;
}

uint16_t sim_fs_delete(struct sim_card *c, const struct sim_apdu *a)
{
	struct sim_file *f, *parent;
	uint16_t fid, sw;
	int i;

	if (a->p1 != 0 || a->p2 != 0)
		return SW_INCORRECT_P1P2;
	if (a->lc != 2)
		return SW_WRONG_LENGTH;
	fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
	if ((f = sim_fs_find(c->mf, fid, SIM_FIND_ANY)) == NULL)
		return SW_FILE_NOT_FOUND;
	if (f == c->mf)
		return SW_COMMAND_NOT_ALLOWED;
	if ((sw = authenticate(c, f, ACL_DELETE_SELF)) != SW_OK)
		return sw;
	parent = f->parent;
	c->cur_df = parent;
	c->cur_ef = NULL;
	for (i = 0; i < parent->nchild; i++)
		if (parent->child[i]->fid == fid)
			break;
	if (i == parent->nchild)
		return SW_FILE_NOT_FOUND;
	/* The applet fills the hole with its last child: order matters
	 * for later searches, so keep it the same. */
	parent->nchild--;
	parent->child[i] = parent->child[parent->nchild];
	parent->child[parent->nchild] = NULL;
	sim_fs_free(f);
	c->dirty = 1;
	c->eeprom_bytes += 2;
	return SW_OK;
}
