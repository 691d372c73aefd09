/* cs_problem.h - why a record cannot be used.
 *
 * One code per refusal, with a stable name for scripts (`inspect --json`,
 * the journal); the same names the test-data generator uses for its breaks. */
#ifndef CS_PROBLEM_H
#define CS_PROBLEM_H

typedef enum cs_problem {
	CS_PROBLEM_NONE = 0,
	CS_PROBLEM_MALFORMED_ROW,
	CS_PROBLEM_BAD_SERIAL,
	CS_PROBLEM_DUPLICATE_SERIAL,
	CS_PROBLEM_P12_MISSING,
	CS_PROBLEM_P12_ORPHAN,
	CS_PROBLEM_NO_PIN_ROW,
	CS_PROBLEM_NO_INDEX_ROW,
	CS_PROBLEM_NAME_MISMATCH,
	CS_PROBLEM_P12_UNREADABLE,
	CS_PROBLEM_WRONG_PIN,
	CS_PROBLEM_SERIAL_MISMATCH,
	CS_PROBLEM_KEY_MISMATCH,
	CS_PROBLEM_SUBJECT_MISMATCH,
	CS_PROBLEM_FOREIGN_O,
	CS_PROBLEM_SMIME_MAIL_MISMATCH,
	CS_PROBLEM_EXPIRED,
	CS_PROBLEM_NOT_YET_VALID,
	CS_PROBLEM_P12_TOO_COSTLY,  /* key derivation over the work bound */
	CS_PROBLEM_KEY_UNSUPPORTED, /* no card profile takes the key type */
	CS_PROBLEM_LIVE_ELSEWHERE,  /* the certificate is on a card already */
	CS_PROBLEM_NOT_IN_DOWNLOAD, /* the run's download no longer holds it */
	CS_PROBLEM_COUNT
} cs_problem;

/* "wrong-pin", "p12-missing", ... */
const char *cs_problem_name(cs_problem p);

#endif
