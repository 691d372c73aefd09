/* sim.h - cardsim: a JavaCard with the IsoApplet (API 0.6) and a
 * GlobalPlatform card manager, behind a vsmartcard (vpcd) reader.
 *
 * The card keeps two kinds of state, as a JavaCard does: persistent
 * ("EEPROM": life-cycle state, PIN, PUK, keys, file system), saved to the
 * card image after every command that changed it, and transient ("RAM":
 * selected applet and files, PIN validated, security environment, chaining
 * buffers), lost at reset, power-off or deselection. */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>

/* Error codes of the simulator's own functions (not status words). */
enum {
	SIM_OK = 0,
	SIM_ERR_NOMEM = -1,
	SIM_ERR_IO = -2,
	SIM_ERR_FORMAT = -3,
	SIM_ERR_CRYPTO = -4,
	SIM_ERR_USAGE = -5,
};

/* ISO 7816 / JavaCard status words the applet answers with. */
#define SW_OK			0x9000
#define SW_BYTES_REMAINING_00	0x6100
#define SW_MEMORY_FAILURE	0x6581
#define SW_WRONG_LENGTH		0x6700
#define SW_LOGICAL_CHANNEL	0x6881
#define SW_SECURE_MESSAGING	0x6882
#define SW_CHAINING_UNSUPPORTED	0x6884
#define SW_NOT_ALLOWED_GENERAL	0x6900
#define SW_INCOMPATIBLE_FILE	0x6981
#define SW_SECURITY_STATUS	0x6982
#define SW_DATA_INVALID		0x6984
#define SW_CONDITIONS		0x6985
#define SW_COMMAND_NOT_ALLOWED	0x6986
#define SW_WRONG_DATA		0x6A80
#define SW_FUNC_NOT_SUPPORTED	0x6A81
#define SW_FILE_NOT_FOUND	0x6A82
#define SW_FILE_FULL		0x6A84
#define SW_INCORRECT_P1P2	0x6A86
#define SW_REF_NOT_FOUND	0x6A88
#define SW_OFFSET_OUTSIDE_EF	0x6B00
#define SW_CORRECT_LENGTH_00	0x6C00
#define SW_INS_NOT_SUPPORTED	0x6D00
#define SW_CLA_NOT_SUPPORTED	0x6E00
#define SW_UNKNOWN		0x6F00
#define SW_PIN_TRIES		0x63C0

#define SIM_KEY_MAX		16	/* key references 0..15 */
#define SIM_CHILDREN_MAX	30	/* per DF, as the applet's array */
#define SIM_RAM_BUF		660	/* the applet's chaining buffer */
#define SIM_PIN_MAX		16
#define SIM_PUK_LEN		16
#define SIM_SERIAL_LEN		4	/* CPLC IC serial number */

/* The applet's life-cycle states. */
#define SIM_STATE_CREATION	0x00	/* nothing set, no restrictions */
#define SIM_STATE_INIT		0x01	/* PUK set, PIN not yet */
#define SIM_STATE_OPERATIONAL	0x05	/* PIN set, data protected */

/* Algorithm references of MANAGE SECURITY ENVIRONMENT. */
#define SIM_ALG_GEN_RSA2048	0xF3
#define SIM_ALG_GEN_EC		0xEC
#define SIM_ALG_RSA_PKCS1	0x11
#define SIM_ALG_ECDSA_SHA1	0x21

/* Which applet the card's basic channel talks to. */
enum sim_applet { SIM_SEL_NONE, SIM_SEL_MANAGER, SIM_SEL_ISOAPPLET,
    SIM_SEL_PIV };

struct sim_blob {
	uint8_t *v;
	size_t len;
};

/* An OwnerPIN: the value, a persistent try counter, a transient flag. */
struct sim_pin {
	int set;
	uint8_t value[SIM_PIN_MAX];
	size_t len;
	int tries;
	int max_tries;
	int validated;		/* transient */
};

enum sim_key_type { SIM_KEY_NONE, SIM_KEY_RSA, SIM_KEY_EC };
enum { SIM_RSA_P, SIM_RSA_Q, SIM_RSA_QINV, SIM_RSA_DP, SIM_RSA_DQ, SIM_RSA_N };
enum { SIM_EC_P, SIM_EC_A, SIM_EC_B, SIM_EC_G, SIM_EC_N, SIM_EC_H, SIM_EC_D, SIM_EC_N_ };

struct sim_key {
	enum sim_key_type type;
	/* RSA: p q qinv dp dq (CRT, what the applet keeps); EC: p a b G n h d */
	struct sim_blob part[7];
};

/* A file of the applet's ISO 7816-4 file system. The FCI is kept as the
 * CREATE FILE command sent it, and returned as such by SELECT. */
struct sim_file {
	uint16_t fid;
	int is_df;
	int transparent;	/* EF: transparent (else record: unsupported) */
	struct sim_blob fci;
	long acl_pos;		/* offset of tag 86 in fci, -1 if none */
	struct sim_blob data;
	struct sim_file *parent;
	struct sim_file *child[SIM_CHILDREN_MAX];
	int nchild;
};

struct sim_card {
	/* persistent */
	uint8_t serial[SIM_SERIAL_LEN];
	int state;
	int import_allowed;
	struct sim_pin pin;
	struct sim_pin puk;
	struct sim_key key[SIM_KEY_MAX];
	struct sim_file *mf;
	/* a PIV card (--applet piv): the PIV applet instead of the IsoApplet
	 * (sim_piv.c); NULL on an IsoApplet card */
	struct sim_piv *piv;

	/* how this card's runtime behaves (not saved in the image) */
	int no_manager;		/* like jcardsim: no card manager, nothing
				 * selected after reset */
	/* --manager-aid: the card manager's own AID, instead of the usual
	 * two (length 0) */
	uint8_t manager_aid[16];
	size_t manager_aid_len;
	/* --manager-locked: GET DATA 9F7F answers this SW, not the CPLC */
	uint16_t manager_cplc_sw;

	/* transient */
	enum sim_applet selected;
	struct sim_file *cur_df;
	struct sim_file *cur_ef;
	int user_auth;
	uint8_t alg_ref;
	int key_ref;
	uint8_t ram[SIM_RAM_BUF];
	uint16_t bytes_remaining;
	uint16_t cur_pos;
	uint8_t chain_ins;
	uint16_t chain_p1p2;
	uint8_t *sig_buf;	/* ECDSA input gathered over a chain */
	size_t sig_len;

	/* bookkeeping for the caller */
	int dirty;		/* persistent state changed: save the image */
	size_t eeprom_bytes;	/* bytes written by this command (latency) */
	int crypto_ops;		/* private-key operations by this command */
	int keygen_ops;		/* key generations by this command */
};

/* A command APDU, parsed (short APDUs only: the applet does not announce
 * extended length). */
struct sim_apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	size_t le;		/* Ne: 0 if absent, 256 for Le=00 */
	int has_le;
};

/* A response: data up to 256 bytes plus SW. */
struct sim_resp {
	uint8_t data[258];
	size_t len;
	uint16_t sw;
};

/* sim_blob.c */
int sim_blob_set(struct sim_blob *b, const uint8_t *v, size_t len);
void sim_blob_free(struct sim_blob *b);

#endif
