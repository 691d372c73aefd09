/* cs_reader.h - PC/SC readers, named so that the name survives a replug.
 *
 * PC/SC numbers readers in the order pcscd found them, and pcsc-lite names
 * a USB reader
 *
 *     "<driver's name for the model> [<USB interface>] (<USB serial>) NN MM"
 *
 * where the bracketed and parenthesised parts appear only when the device
 * has them, NN counts readers in pcscd's order and MM is the slot. NN moves
 * when readers are plugged in another order, so neither the index nor the
 * full name is a stable way to say "the reader on the left". Two stable
 * handles exist: the USB serial (when the model has one) and the USB
 * position (bus and port chain, when it does not).
 *
 * A reader SPEC, as accepted by every `--reader SPEC` option:
 *
 *     0, 1, ...          the index in PC/SC's list (unstable; for quick use)
 *     serial:XXXX        the reader whose USB serial is XXXX
 *     usb:BUS-PORT[.PORT...]  the reader plugged into that USB position,
 *                        e.g. usb:1-3.2 (see `cardstation doctor`)
 *     name:NAME          the reader whose PC/SC name is NAME or begins with
 *                        NAME (NAME may then be all digits)
 *     NAME               the same, when NAME is not all digits
 *
 * A prefix that fits several readers is an error naming them, never a
 * guess: with identical readers use serial: or usb:. */
#ifndef CS_READER_H
#define CS_READER_H

#include <stddef.h>

#include <winscard.h>
#include <wintypes.h>

#include "cs_usb.h"

#define CS_READER_NAME 256

typedef struct cs_reader {
	char name[CS_READER_NAME];     /* exactly as PC/SC gives it */
	char model[CS_READER_NAME];    /* the name without the parts below */
	char interface[CS_READER_NAME]; /* "" when absent */
	char serial[CS_USB_STR];       /* USB serial; "" when none */
	int nn;                        /* pcscd's reader number, -1 if none */
	int slot;                      /* slot, -1 if none */
	char position[CS_USB_PATH];    /* USB position; "" when unknown */
	int usb;                       /* index in the cs_usb_list, or -1 */
} cs_reader;

typedef struct cs_reader_list {
	cs_reader *r;
	size_t n;
} cs_reader_list;

/* Split a PC/SC reader name into its parts (pure, no I/O). The serial is
 * the last parenthesised group before "NN MM"; a model name ending in
 * parentheses is told apart by cs_reader_locate_usb(), which knows the
 * driver's model names. */
int cs_reader_parse_name(const char *name, cs_reader *out);

/* Build a list from PC/SC's multi-string ("a\0b\0\0"), as
 * SCardListReaders returns it. */
int cs_reader_list_from_mszstr(const char *msz, size_t len,
    cs_reader_list *out);
/* The readers of ctx now. No reader is CS_OK with an empty list. */
int cs_reader_list_get(SCARDCONTEXT ctx, cs_reader_list *out);
void cs_reader_list_free(cs_reader_list *l);

/* Tie each reader to its USB device: a reader belongs to a device when
 * its name is the driver's model name for the device's VID:PID followed
 * by the device's serial (if it has one). When several devices fit (two
 * identical readers without serial) and ctx is not 0, the reader is asked
 * for its USB bus and address (SCARD_ATTR_CHANNEL_ID, answered by the CCID
 * driver); otherwise the reader stays without a position. Fills position,
 * usb and corrects serial. drivers may be NULL (then the model name is
 * taken from the parsed reader name). */
int cs_reader_locate_usb(cs_reader_list *l, const cs_usb_list *usb,
    const cs_usb_drivers *drivers, SCARDCONTEXT ctx);

/* Choose the one reader SPEC names (syntax above). On failure msg says
 * why in the operator's words: no such reader, or which readers a prefix
 * fits. CS_ERR_USAGE: bad SPEC; CS_ERR_NOTFOUND: none; CS_ERR_MISMATCH:
 * several. */
int cs_reader_select(const cs_reader_list *l, const char *spec, size_t *idx,
    char *msg, size_t msglen);

/* The most stable SPEC for reader r among l: serial: when r's serial is
 * unique, usb: when its position is known, else its full name. */
void cs_reader_stable_spec(const cs_reader_list *l, const cs_reader *r,
    char *out, size_t outlen);

/* Waiting for a card.
 *
 *     cs_reader_watch w;
 *     cs_reader_watch_init(&w, reader_name);
 *     for (;;) {
 *             r = cs_reader_wait(ctx, &w, 5000, &ev);
 *             ...ev is CS_READER_EV_INSERTED: w.atr holds the ATR...
 *     }
 *
 * The first call reports the current state at once (INSERTED when a card
 * is in, REMOVED when not). Later calls block until it changes, timeout_ms
 * passes (CS_READER_EV_TIMEOUT; a negative timeout waits for ever), the
 * reader goes away (CS_READER_EV_GONE) or another thread calls
 * SCardCancel(ctx) (CS_READER_EV_CANCELLED). A card swapped between two
 * calls is reported as INSERTED (a new card), never missed: PC/SC counts
 * events per reader and the watch remembers the count. Returns CS_OK with
 * ev set, or CS_ERR_CARD when PC/SC fails (pcscd gone). */
typedef enum cs_reader_event {
	CS_READER_EV_INSERTED = 1,
	CS_READER_EV_REMOVED,
	CS_READER_EV_TIMEOUT,
	CS_READER_EV_GONE,
	CS_READER_EV_CANCELLED,
} cs_reader_event;

typedef struct cs_reader_watch {
	char reader[CS_READER_NAME];
	DWORD state;                 /* last dwEventState seen; 0 at first */
	int present;                 /* a card is in */
	int mute;                    /* ... but does not answer (upside down?) */
	int exclusive;               /* someone holds it exclusively */
	unsigned char atr[MAX_ATR_SIZE];
	size_t atrlen;
} cs_reader_watch;

void cs_reader_watch_init(cs_reader_watch *w, const char *reader);
int cs_reader_wait(SCARDCONTEXT ctx, cs_reader_watch *w, long timeout_ms,
    cs_reader_event *ev);

/* The same on n readers at once (one SCardGetStatusChange for all, no
 * thread per reader): *which says whose event ev is. One event per call;
 * another reader's change waits for the next call, which then returns at
 * once. CS_ERR_USAGE when n is 0 or above CS_READER_WAIT_MAX. */
#define CS_READER_WAIT_MAX 32
int cs_reader_wait_any(SCARDCONTEXT ctx, cs_reader_watch *w, size_t n,
    long timeout_ms, size_t *which, cs_reader_event *ev);

/* How many readers of l hold a card now; *idx is the last of them. */
size_t cs_reader_with_card(SCARDCONTEXT ctx, const cs_reader_list *l,
    size_t *idx);

#endif
