/* cs_pairing.h - the pairing list of pairing-list mode.
 *
 * The card-printing system knows which card it printed for whom. Its list,
 * a CSV with a header row, binds a card to a person with no operator
 * choice: columns `printed_no`, `chip_serial` and `person` (a staff or
 * student number, or a mail address when it has an @). A card is found by
 * its chip serial, or by its printed number when the list has no chip
 * serials. UTF-8 or CP932. */
#ifndef CS_PAIRING_H
#define CS_PAIRING_H

#include <stddef.h>

typedef struct cs_pair {
	char printed_no[64];
	char chip_serial[40];
	char person[128];
	size_t line;
} cs_pair;

typedef struct cs_pairing {
	cs_pair *p;
	size_t n;
} cs_pairing;

int cs_pairing_load(const char *path, cs_pairing *out, char *why, size_t whylen);
void cs_pairing_free(cs_pairing *l);
/* The line for a chip serial (case and dashes ignored), or NULL. */
const cs_pair *cs_pairing_by_chip(const cs_pairing *l, const char *chip);
/* The line for a printed card number, or NULL. */
const cs_pair *cs_pairing_by_printed(const cs_pairing *l, const char *printed);
/* The line that names the holder with staff_no or mail (a mail ASCII
 * case-insensitive, as the journal matches it), or NULL. */
const cs_pair *cs_pairing_by_person(const cs_pairing *l, const char *staff_no,
    const char *mail);
/* Whether person is a mail (else a staff or student number). */
int cs_pair_is_mail(const cs_pair *p);

#endif
