/* cs_p11.c - opensc-pkcs11.so loaded with dlopen, one slot, one session. */
#include "cs_p11.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <p11-kit/pkcs11.h>

#define PKCS11_MODULE "opensc-pkcs11.so"

struct cs_p11 {
	void *lib;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	int initialized, open, logged_in;
};

static void copy_padded(char *dst, size_t cap, const unsigned char *src,
    size_t n)
{
	while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
		n--;
	snprintf(dst, cap, "%.*s", (int)n, (const char *)src);
}

void cs_p11_close(cs_p11 *m)
{
	if (m == NULL)
		return;
	if (m->logged_in)
		m->f->C_Logout(m->s);
	if (m->open)
		m->f->C_CloseSession(m->s);
	if (m->initialized)
		m->f->C_Finalize(NULL);
	if (m->lib != NULL)
		dlclose(m->lib);
	free(m);
}

int cs_p11_open(cs_p11 **out, cs_p11_token *info, char *why, size_t whylen)
{
	const char *path = getenv("CARDSTATION_PKCS11");
	CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
	CK_SLOT_ID slots[8];
	CK_ULONG nslots = 8;
	CK_TOKEN_INFO ti;
	cs_p11 *m;
	CK_RV rv;
	int r = CS_ERR_CARD;

	*out = NULL;
	if (path == NULL || *path == '\0')
		path = PKCS11_MODULE;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return CS_ERR_NOMEM;
	if ((m->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(why, whylen, _("cannot load %s: %s"), path, dlerror());
		r = CS_ERR_NOTFOUND;
		goto fail;
	}
	*(void **)&get_list = dlsym(m->lib, "C_GetFunctionList");
	if (get_list == NULL || get_list(&m->f) != CKR_OK ||
	    m->f->C_Initialize(NULL) != CKR_OK) {
		snprintf(why, whylen, _("the PKCS#11 module %s does not start"), path);
		goto fail;
	}
	m->initialized = 1;
	rv = m->f->C_GetSlotList(CK_TRUE, slots, &nslots);
	if (rv != CKR_OK || nslots == 0) {
		snprintf(why, whylen, _("OpenSC sees no card with a PKCS#15 "
		    "application (0x%lx)"), rv);
		goto fail;
	}
	m->slot = slots[0];
	if ((rv = m->f->C_GetTokenInfo(m->slot, &ti)) != CKR_OK ||
	    (rv = m->f->C_OpenSession(m->slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &m->s)) != CKR_OK) {
		snprintf(why, whylen, _("OpenSC cannot open the token (0x%lx)"), rv);
		goto fail;
	}
	m->open = 1;
	if (info != NULL) {
		memset(info, 0, sizeof(*info));
		copy_padded(info->serial, sizeof(info->serial), ti.serialNumber,
		    sizeof(ti.serialNumber));
		copy_padded(info->label, sizeof(info->label), ti.label,
		    sizeof(ti.label));
		copy_padded(info->model, sizeof(info->model), ti.model,
		    sizeof(ti.model));
		info->pin_count_low = (ti.flags & CKF_USER_PIN_COUNT_LOW) != 0;
		info->pin_final_try = (ti.flags & CKF_USER_PIN_FINAL_TRY) != 0;
		info->pin_locked = (ti.flags & CKF_USER_PIN_LOCKED) != 0;
	}
	*out = m;
	return CS_OK;
fail:
	cs_p11_close(m);
	return r;
}

/* Up to cap handles of class cls (and ID id when idlen > 0). */
static int find(cs_p11 *m, CK_OBJECT_CLASS cls, const unsigned char *id,
    size_t idlen, CK_OBJECT_HANDLE *h, CK_ULONG cap, CK_ULONG *n)
{
	CK_ATTRIBUTE t[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_ID, (void *)id, idlen},
	};
	CK_RV rv;

	*n = 0;
	if (m->f->C_FindObjectsInit(m->s, t, idlen > 0 ? 2 : 1) != CKR_OK)
		return CS_ERR_CARD;
	rv = m->f->C_FindObjects(m->s, h, cap, n);
	m->f->C_FindObjectsFinal(m->s);
	return rv == CKR_OK ? CS_OK : CS_ERR_CARD;
}

/* One attribute into a fresh buffer (NUL-terminated for text). */
static int get_attr(cs_p11 *m, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
    unsigned char **val, size_t *len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};

	*val = NULL;
	*len = 0;
	if (m->f->C_GetAttributeValue(m->s, h, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return CS_ERR_NOTFOUND;
	if ((a.pValue = calloc(1, a.ulValueLen + 1)) == NULL)
		return CS_ERR_NOMEM;
	if (m->f->C_GetAttributeValue(m->s, h, &a, 1) != CKR_OK) {
		free(a.pValue);
		return CS_ERR_CARD;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CS_OK;
}

static int read_cert(cs_p11 *m, CK_OBJECT_HANDLE h, cs_p11_cert *c)
{
	unsigned char *v;
	size_t n;
	int r;

	memset(c, 0, sizeof(*c));
	if (get_attr(m, h, CKA_ID, &v, &n) == CS_OK) {
		c->idlen = n < sizeof(c->id) ? n : sizeof(c->id);
		memcpy(c->id, v, c->idlen);
		free(v);
	}
	if (get_attr(m, h, CKA_LABEL, &v, &n) == CS_OK) {
		snprintf(c->label, sizeof(c->label), "%s", (char *)v);
		free(v);
	}
	if ((r = get_attr(m, h, CKA_VALUE, &c->der, &c->derlen)) != CS_OK)
		return r;
	return CS_OK;
}

void cs_p11_certs_free(cs_p11_cert *c, size_t n)
{
	for (size_t i = 0; c != NULL && i < n; i++) {
		free(c[i].der);
		c[i].der = NULL;
	}
}

int cs_p11_certs(cs_p11 *m, cs_p11_cert **out, size_t *n, char *why,
    size_t whylen)
{
	CK_OBJECT_HANDLE h[32];
	CK_ULONG found;
	cs_p11_cert *c;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = find(m, CKO_CERTIFICATE, NULL, 0, h, 32, &found)) != CS_OK) {
		snprintf(why, whylen, _("OpenSC cannot list the card's certificates"));
		return r;
	}
	if (found == 0)
		return CS_OK;
	if ((c = calloc(found, sizeof(*c))) == NULL)
		return CS_ERR_NOMEM;
	for (CK_ULONG i = 0; i < found; i++)
		if ((r = read_cert(m, h[i], &c[i])) != CS_OK) {
			snprintf(why, whylen, _("OpenSC cannot read certificate %lu "
			    "of the card"), (unsigned long)i + 1);
			cs_p11_certs_free(c, found);
			free(c);
			return r;
		}
	*out = c;
	*n = found;
	return CS_OK;
}

int cs_p11_cert_by_id(cs_p11 *m, const unsigned char *id, size_t idlen,
    cs_p11_cert *out)
{
	CK_OBJECT_HANDLE h;
	CK_ULONG n;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = find(m, CKO_CERTIFICATE, id, idlen, &h, 1, &n)) != CS_OK)
		return r;
	return n == 1 ? read_cert(m, h, out) : CS_ERR_NOTFOUND;
}

static int has(cs_p11 *m, CK_OBJECT_CLASS cls, const unsigned char *id,
    size_t idlen, int *present)
{
	CK_OBJECT_HANDLE h;
	CK_ULONG n;
	int r;

	*present = 0;
	if ((r = find(m, cls, id, idlen, &h, 1, &n)) != CS_OK)
		return r;
	*present = n == 1;
	return CS_OK;
}

int cs_p11_has_key(cs_p11 *m, const unsigned char *id, size_t idlen,
    int *present)
{
	return has(m, CKO_PRIVATE_KEY, id, idlen, present);
}

int cs_p11_has_pubkey(cs_p11 *m, const unsigned char *id, size_t idlen,
    int *present)
{
	return has(m, CKO_PUBLIC_KEY, id, idlen, present);
}

int cs_p11_mechanisms(cs_p11 *m, cs_p11_mechs *out)
{
	CK_MECHANISM_TYPE t[128];
	CK_ULONG n = 128;

	memset(out, 0, sizeof(*out));
	if (m->f->C_GetMechanismList(m->slot, t, &n) != CKR_OK)
		return CS_ERR_CARD;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_MECHANISM_INFO mi;

		switch (t[i]) {
		case CKM_RSA_PKCS:
			out->rsa_pkcs = 1;
			if (m->f->C_GetMechanismInfo(m->slot, t[i], &mi) == CKR_OK &&
			    (mi.flags & CKF_DECRYPT) != 0)
				out->rsa_decrypt = 1;
			break;
		case CKM_RSA_PKCS_PSS:
		case CKM_SHA256_RSA_PKCS_PSS:
			out->rsa_pss = 1;
			break;
		case CKM_ECDSA:
		case CKM_ECDSA_SHA256:
			out->ecdsa = 1;
			break;
		default:
			break;
		}
	}
	return CS_OK;
}

int cs_p11_login(cs_p11 *m, const char *pin, char *why, size_t whylen)
{
	CK_RV rv;

	rv = m->f->C_Login(m->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		m->logged_in = 1;
		return CS_OK;
	}
	if (rv == CKR_PIN_INCORRECT) {
		snprintf(why, whylen, _("the card refused the PIN: wrong PIN"));
		return CS_ERR_CRYPTO;
	}
	if (rv == CKR_PIN_LOCKED) {
		snprintf(why, whylen, _("the card refused the PIN: PIN blocked"));
		return CS_ERR_STATE;
	}
	snprintf(why, whylen, _("the card refused the login (0x%lx)"), rv);
	return CS_ERR_CARD;
}

/* ECDSA on PKCS#11 is r||s; OpenSSL verifies DER. */
static int ec_raw_to_der(const unsigned char *sig, size_t len,
    unsigned char **der, size_t *derlen)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)(len / 2), NULL);
	BIGNUM *v = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
	int n;

	if (s == NULL || r == NULL || v == NULL || !ECDSA_SIG_set0(s, r, v)) {
		ECDSA_SIG_free(s);
		BN_free(r);
		BN_free(v);
		return CS_ERR_CRYPTO;
	}
	*der = NULL;
	n = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return CS_ERR_CRYPTO;
	*derlen = (size_t)n;
	return CS_OK;
}

int cs_p11_prove_key(cs_p11 *m, const unsigned char *id, size_t idlen,
    EVP_PKEY *pub, char *mech, size_t mechlen, char *why, size_t whylen)
{
	int ec = EVP_PKEY_base_id(pub) == EVP_PKEY_EC;
	/* PKCS#1 v1.5 for RSA: the one RSA signature the applet offers. */
	CK_MECHANISM mc = {ec ? CKM_ECDSA : CKM_SHA256_RSA_PKCS, NULL, 0};
	unsigned char challenge[32], digest[32], sig[512], *der = NULL;
	CK_ULONG siglen = sizeof(sig);
	CK_OBJECT_HANDLE key;
	CK_ULONG n;
	EVP_MD_CTX *md = NULL;
	size_t derlen = 0;
	CK_RV rv;
	int r;

	snprintf(mech, mechlen, "%s", ec ? "ECDSA-SHA256" : "SHA256-RSA-PKCS");
	if ((r = find(m, CKO_PRIVATE_KEY, id, idlen, &key, 1, &n)) != CS_OK ||
	    n != 1) {
		snprintf(why, whylen, _("no private key beside the certificate"));
		return r != CS_OK ? r : CS_ERR_NOTFOUND;
	}
	/* Fresh each time: a replayed signature proves nothing. */
	if (RAND_bytes(challenge, sizeof(challenge)) != 1) {
		snprintf(why, whylen, _("no randomness for the challenge"));
		return CS_ERR_CRYPTO;
	}
	if (ec)
		SHA256(challenge, sizeof(challenge), digest);
	if ((rv = m->f->C_SignInit(m->s, &mc, key)) != CKR_OK ||
	    (rv = m->f->C_Sign(m->s, ec ? digest : challenge, ec ?
	    sizeof(digest) : sizeof(challenge), sig, &siglen)) != CKR_OK) {
		snprintf(why, whylen, _("the card did not sign (0x%lx)"), rv);
		return CS_ERR_CARD;
	}
	if (ec && ec_raw_to_der(sig, siglen, &der, &derlen) != CS_OK) {
		snprintf(why, whylen, _("the card's ECDSA signature is malformed"));
		return CS_ERR_MISMATCH;
	}
	r = CS_ERR_MISMATCH;
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
	    EVP_DigestVerify(md, ec ? der : sig, ec ? derlen : siglen,
	    challenge, sizeof(challenge)) == 1)
		r = CS_OK;
	else
		snprintf(why, whylen, _("the card's signature does not verify with "
		    "the certificate's key: key and certificate do not match"));
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return r;
}
