/* gen_people.c - names, mails, serials and PINs as a university's download
 * has them, and the breaks that make a record unusable. */
#include "gen_people.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "cs_err.h"

struct name {
	const char *kanji;
	const char *roman;
};

/* The first three surnames need CP932's IBM/NEC extensions (髙, 﨑): a strict
 * Shift_JIS decoder fails on them, which is the point. */
static const struct name surnames[] = {
	{"髙橋", "TAKAHASHI"}, {"山﨑", "YAMAZAKI"}, {"髙木", "TAKAGI"},
	{"宮﨑", "MIYAZAKI"}, {"川﨑", "KAWASAKI"}, {"髙田", "TAKADA"},
	{"佐藤", "SATO"}, {"鈴木", "SUZUKI"}, {"高橋", "TAKAHASHI"},
	{"田中", "TANAKA"}, {"伊藤", "ITO"}, {"渡辺", "WATANABE"},
	{"山本", "YAMAMOTO"}, {"中村", "NAKAMURA"}, {"小林", "KOBAYASHI"},
	{"加藤", "KATO"}, {"吉田", "YOSHIDA"}, {"山田", "YAMADA"},
	{"佐々木", "SASAKI"}, {"山口", "YAMAGUCHI"}, {"松本", "MATSUMOTO"},
	{"井上", "INOUE"}, {"木村", "KIMURA"}, {"林", "HAYASHI"},
	{"斎藤", "SAITO"}, {"清水", "SHIMIZU"}, {"山崎", "YAMAZAKI"},
	{"森", "MORI"}, {"池田", "IKEDA"}, {"橋本", "HASHIMOTO"},
	{"阿部", "ABE"}, {"石川", "ISHIKAWA"}, {"前田", "MAEDA"},
	{"藤田", "FUJITA"}, {"小川", "OGAWA"}, {"岡田", "OKADA"},
	{"後藤", "GOTO"}, {"長谷川", "HASEGAWA"}, {"村上", "MURAKAMI"},
	{"近藤", "KONDO"}, {"石井", "ISHII"}, {"坂本", "SAKAMOTO"},
	{"遠藤", "ENDO"}, {"青木", "AOKI"}, {"藤井", "FUJII"},
	{"西村", "NISHIMURA"}, {"福田", "FUKUDA"}, {"太田", "OTA"},
	{"三浦", "MIURA"}, {"藤原", "FUJIWARA"}, {"岡本", "OKAMOTO"},
	{"松田", "MATSUDA"}, {"中川", "NAKAGAWA"}, {"国立", "KOKURITSU"},
	{"渡邊", "WATANABE"}, {"齋藤", "SAITO"},
};

static const struct name givens[] = {
	{"花子", "HANAKO"}, {"太郎", "TARO"}, {"翔太", "SHOTA"},
	{"陽菜", "HINA"}, {"大輔", "DAISUKE"}, {"美咲", "MISAKI"},
	{"健", "KEN"}, {"直樹", "NAOKI"}, {"裕子", "YUKO"},
	{"さくら", "SAKURA"}, {"ひかり", "HIKARI"}, {"拓也", "TAKUYA"},
	{"愛", "AI"}, {"結衣", "YUI"}, {"蓮", "REN"}, {"葵", "AOI"},
	{"悠真", "YUMA"}, {"恵", "MEGUMI"}, {"誠", "MAKOTO"},
	{"和也", "KAZUYA"}, {"明美", "AKEMI"}, {"智子", "TOMOKO"},
	{"浩二", "KOJI"}, {"修", "OSAMU"}, {"瑞穂", "MIZUHO"},
	{"まゆみ", "MAYUMI"}, {"亮", "RYO"}, {"彩", "AYA"},
	{"隆", "TAKASHI"}, {"由美子", "YUMIKO"},
};

/* Staff from abroad are registered in katakana, family name first. */
static const struct name foreigners[][2] = {
	{{"ブラウン", "BROWN"}, {"エミリー", "EMILY"}},
	{{"グエン", "NGUYEN"}, {"ヴァン　ミン", "VAN MINH"}},
	{{"スミス", "SMITH"}, {"ジョン", "JOHN"}},
	{{"ワン", "WANG"}, {"リー", "LI"}},
};

#define NSUR (sizeof(surnames) / sizeof(surnames[0]))
#define NGIV (sizeof(givens) / sizeof(givens[0]))
#define NFOR (sizeof(foreigners) / sizeof(foreigners[0]))

static void lower_into(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i];
	dst[i] = '\0';
}

/* 髙橋 and 高橋 are both TAKAHASHI: mails are counted per romanisation, so
 * the first entry of the table with the same one stands for all. */
static size_t first_same(const struct name *t, size_t i)
{
	size_t j = 0;

	while (strcmp(t[j].roman, t[i].roman) != 0)
		j++;
	return j;
}

/* 63-bit serials (bit 62 set, so 19 digits) for the older profiles; 128-bit
 * (bit 127 set, 39 digits, more than any uint64) for S/MIME since 2023 and
 * for half of the client+S/MIME certificates. */
static int make_serial(gen_person *p, gen_rand *r, int wide)
{
	uint64_t hi = gen_rand_u64(r), lo = gen_rand_u64(r);
	BIGNUM *bn;
	char *dec;
	int ret = CS_ERR_NOMEM;

	memset(p->serial, 0, sizeof(p->serial));
	if (wide) {
		hi |= 1ULL << 63;
	} else {
		hi = 0;
		lo = (lo >> 1) | (1ULL << 62);
	}
	for (int i = 0; i < 8; i++) {
		p->serial[7 - i] = (unsigned char)(hi >> (8 * i));
		p->serial[15 - i] = (unsigned char)(lo >> (8 * i));
	}
	if ((bn = BN_bin2bn(p->serial, sizeof(p->serial), NULL)) == NULL)
		goto out;
	if ((dec = BN_bn2dec(bn)) == NULL)
		goto out;
	snprintf(p->serial_dec, sizeof(p->serial_dec), "%s", dec);
	OPENSSL_free(dec);
	ret = CS_OK;
out:
	BN_free(bn);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int check_unique_mail(const gen_person *pp, size_t n)
{
	const char **m;
	int r = CS_OK;

	if (n < 2)
		return CS_OK;
	if ((m = calloc(n, sizeof(*m))) == NULL)
		return CS_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		m[i] = pp[i].mail;
	qsort(m, n, sizeof(*m), cmp_str);
	for (size_t i = 1; i < n && r == CS_OK; i++)
		if (strcmp(m[i - 1], m[i]) == 0)
			r = CS_ERR_STATE;
	free(m);
	return r;
}

int gen_people_make(gen_person **out, const gen_people_opts *o)
{
	gen_person *pp;
	unsigned *seen = NULL, seen_foreign[NFOR] = {0};
	gen_rand r;
	uint32_t staff0;
	int ret = CS_ERR_NOMEM;

	*out = NULL;
	if ((pp = calloc(o->n ? o->n : 1, sizeof(*pp))) == NULL)
		goto out;
	/* Mail addresses must be unique (the PIN file joins on DN + mail):
	 * count how often each given.surname pair was used. */
	if ((seen = calloc(NSUR * NGIV, sizeof(*seen))) == NULL)
		goto out;
	gen_rand_seed(&r, o->seed);
	staff0 = 10000000 + gen_rand_below(&r, 40000000);
	for (size_t i = 0; i < o->n; i++) {
		gen_person *p = &pp[i];
		/* Every bundle of two or more people has a 髙 and a 﨑. */
		size_t s = i < 2 ? i : gen_rand_below(&r, NSUR);
		size_t g = gen_rand_below(&r, NGIV);
		const struct name *sur = &surnames[s], *giv = &givens[g];
		unsigned *count = &seen[first_same(surnames, s) * NGIV +
		    first_same(givens, g)];
		uint32_t roll = gen_rand_below(&r, 100);
		char gl[32], sl[32], *sp;
		int wide;

		if (i >= 2 && roll < 3) {
			size_t f = gen_rand_below(&r, NFOR);

			sur = &foreigners[f][0];
			giv = &foreigners[f][1];
			count = &seen_foreign[f];
		}
		snprintf(p->name, sizeof(p->name), "%s\u3000%s", sur->kanji,
		    giv->kanji);
		snprintf(p->roman, sizeof(p->roman), "%s %s", sur->roman,
		    giv->roman);
		lower_into(gl, sizeof(gl), giv->roman);
		lower_into(sl, sizeof(sl), sur->roman);
		while ((sp = strchr(gl, ' ')) != NULL)
			*sp = '.';
		if ((*count)++ == 0)
			snprintf(p->mail, sizeof(p->mail), "%s.%s@%s", gl, sl,
			    o->domain);
		else
			snprintf(p->mail, sizeof(p->mail), "%s.%s.%u@%s", gl, sl,
			    *count, o->domain);
		roll = gen_rand_below(&r, 100);
		snprintf(p->staff, sizeof(p->staff), "%u",
		    staff0 + (uint32_t)i * 7);
		/* 60% client, 25% client+S/MIME, 15% S/MIME. */
		p->profile = roll < 60 ? GEN_CLIENT :
		    roll < 85 ? GEN_CLIENT_SMIME : GEN_SMIME;
		wide = p->profile == GEN_SMIME ||
		    (p->profile == GEN_CLIENT_SMIME && gen_rand_below(&r, 2));
		if ((ret = make_serial(p, &r, wide)) != CS_OK)
			goto out;
		/* The service's access PINs: 16 letters and digits. */
		gen_rand_alnum(&r, p->pin, 16);
		roll = gen_rand_below(&r, 100);
		p->enc = roll < 40 ? GEN_ENC_3DES :
		    roll < 60 ? GEN_ENC_RC2 : GEN_ENC_AES;
		p->months = gen_rand_below(&r, 2) ? 25 : 13;
		p->days_ago = (int)gen_rand_below(&r, 300) + 1;
		p->key = (unsigned)(i % o->key_pool);
		p->verdict = "OK";
		p->index_serial_of = -1;
	}
	/* The join key must be unique, or the bundle lies about itself. */
	if ((ret = check_unique_mail(pp, o->n)) != CS_OK)
		goto out;
	*out = pp;
	pp = NULL;
	ret = CS_OK;
out:
	free(seen);
	free(pp);
	return ret;
}

/* ---- breaks ---- */

static const char *const breaks[] = {
	"p12-missing", "p12-orphan", "wrong-pin", "no-pin-row",
	"no-index-row", "no-index-row+p12", "name-mismatch",
	"serial-mismatch", "key-mismatch", "subject-mismatch", "foreign-o",
	"smime-mail-mismatch", "expired", "not-yet-valid", "duplicate-serial",
};

/* The table's own string, which outlives the caller's. */
static const char *break_name(const char *name)
{
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++)
		if (strcmp(name, breaks[i]) == 0)
			return breaks[i];
	return NULL;
}

int gen_break_known(const char *name)
{
	return break_name(name) != NULL ? 0 : -1;
}

/* Replace the first `from` in s by `to`, in place (s has room). */
static int replace(char *s, size_t cap, const char *from, const char *to)
{
	char *at = strstr(s, from);
	size_t fl = strlen(from), tl = strlen(to);

	if (at == NULL || strlen(s) - fl + tl + 1 > cap)
		return -1;
	memmove(at + tl, at + fl, strlen(at + fl) + 1);
	memcpy(at, to, tl);
	return 0;
}

/* The classic mismatch is 髙 written as 高 (or 﨑 as 崎) by a system that
 * cannot store the extension; otherwise the given name was typed wrongly. */
static void other_name(gen_person *p)
{
	snprintf(p->pin_row_name, sizeof(p->pin_row_name), "%s", p->name);
	if (replace(p->pin_row_name, sizeof(p->pin_row_name), "髙", "高") == 0 ||
	    replace(p->pin_row_name, sizeof(p->pin_row_name), "﨑", "崎") == 0)
		return;
	snprintf(p->pin_row_name + strlen(p->pin_row_name),
	    sizeof(p->pin_row_name) - strlen(p->pin_row_name), "子");
}

static int broken(const gen_person *p)
{
	return strcmp(p->verdict, "OK") != 0;
}

int gen_break_apply(gen_person *pp, size_t n, const char *arg, long who,
    gen_rand *r, char *why, size_t whylen)
{
	const char *name;
	gen_person *p;
	int dup = strcmp(arg, "duplicate-serial") == 0;

	if ((name = break_name(arg)) == NULL) {
		snprintf(why, whylen, "unknown break '%s'", arg);
		return CS_ERR_USAGE;
	}
	if (n < (size_t)(dup ? 2 : 1)) {
		snprintf(why, whylen, "'%s' needs more people", name);
		return CS_ERR_USAGE;
	}
	if (who < 0) {
		/* A free person, chosen from the seed; give up after n tries. */
		size_t tries = 0;

		do
			who = (long)gen_rand_below(r, (uint32_t)n);
		while (broken(&pp[who]) && ++tries < 4 * n);
	}
	if ((size_t)who >= n || broken(&pp[who])) {
		snprintf(why, whylen, "'%s': person %ld is %s", name, who + 1,
		    (size_t)who >= n ? "not in the bundle" : "already broken");
		return CS_ERR_USAGE;
	}
	p = &pp[who];
	p->verdict = name;
	if (strcmp(name, "p12-missing") == 0) {
		p->no_p12 = 1;
	} else if (strcmp(name, "p12-orphan") == 0) {
		/* The file stays, both rows go. */
		p->no_index = p->no_pin = 1;
	} else if (strcmp(name, "wrong-pin") == 0) {
		p->pin_wrong = 1;
		gen_rand_alnum(r, p->pin_row_pin, 16);
	} else if (strcmp(name, "no-pin-row") == 0) {
		p->no_pin = 1;
	} else if (strcmp(name, "no-index-row") == 0) {
		p->no_index = p->no_p12 = 1;
		snprintf(p->note, sizeof(p->note), "PIN row only; no .p12");
	} else if (strcmp(name, "no-index-row+p12") == 0) {
		/* The PIN row and the .p12 both stay: two records, the PIN row
		 * (no-index-row) and the file (p12-orphan). */
		p->verdict = "no-index-row";
		p->no_index = 1;
		p->orphan_row = 1;
		snprintf(p->note, sizeof(p->note),
		    "PIN row only; its .p12 is present as an orphan");
	} else if (strcmp(name, "name-mismatch") == 0) {
		p->name_differs = 1;
		other_name(p);
	} else if (strcmp(name, "serial-mismatch") == 0) {
		p->cert_serial_plus1 = 1;
	} else if (strcmp(name, "key-mismatch") == 0) {
		p->key_other = 1;
	} else if (strcmp(name, "subject-mismatch") == 0) {
		/* A subject with O/OU to differ in: the client profile. */
		if (p->profile == GEN_SMIME)
			p->profile = GEN_CLIENT;
		p->dn_differs = 1;
	} else if (strcmp(name, "foreign-o") == 0) {
		if (p->profile == GEN_SMIME)
			p->profile = GEN_CLIENT;
		p->foreign_o = 1;
	} else if (strcmp(name, "smime-mail-mismatch") == 0) {
		if (p->profile == GEN_CLIENT)
			p->profile = GEN_CLIENT_SMIME;
		p->san_other = 1;
	} else if (strcmp(name, "expired") == 0) {
		p->expired = 1;
	} else if (strcmp(name, "not-yet-valid") == 0) {
		p->not_yet_valid = 1;
	} else if (dup) {
		/* The next unbroken person lends its serial to this index row;
		 * this person's own file cannot share that name, so it is left
		 * out. Both rows expect duplicate-serial. */
		size_t j = (size_t)who;
		gen_person *q;

		do
			j = (j + 1) % n;
		while (j != (size_t)who && broken(&pp[j]));
		if (j == (size_t)who) {
			p->verdict = "OK";
			snprintf(why, whylen, "'%s': no free partner", name);
			return CS_ERR_USAGE;
		}
		q = &pp[j];
		q->verdict = name;
		snprintf(q->note, sizeof(q->note), "shares its serial with "
		    "person %ld", who + 1);
		p->index_serial_of = (long)j;
		p->no_p12 = 1;
		snprintf(p->note, sizeof(p->note), "index row carries the serial "
		    "of person %zu; own .p12 left out", j + 1);
	}
	return CS_OK;
}
