/* cs_codes.h - a stable code for everything the station tells a person.
 *
 * Front ends and scripts get a code ("card.pulled") and its parameters
 * (name=value), never an English sentence to parse. One table
 * (cs_codes.c) gives each code its English source text with named
 * parameters ("card {chip} is not in the pairing list"); the text in the
 * operator's language comes from the gettext catalogue (cs_i18n.h, po/).
 * Texts of OpenSC, pcsc-lite or OpenSSL travel beside it as a detail,
 * never as the message. `cardstation codes --json` lists the table in the
 * locale's language, for front ends that render codes themselves.
 *
 * Parameters travel packed in one string: name=value pairs separated by
 * CS_PARAM_SEP (no tab, newline or US in a value; those become spaces).
 * A value that is a state's code (state.card.partial) is rendered as that
 * state's word in the text's language: a journal state travels so. */
#ifndef CS_CODES_H
#define CS_CODES_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "cs_problem.h"

#define CS_PARAM_SEP '\037'
#define CS_PARAMS_MAX 1024

typedef struct cs_code_def {
	const char *code;
	const char *text;   /* English source, {name} for a parameter */
} cs_code_def;

/* The table, for listings and tests; *n its length. */
const cs_code_def *cs_code_table(size_t *n);
/* English source text of code; NULL when the code is not in the table. */
const char *cs_code_source(const char *code);

/* The code of a refused record's problem (cs_problem.h):
 * "problem.wrong-pin", a static string. */
const char *cs_problem_code(cs_problem p);

/* Pack name/value pairs (a NULL name ends the list; a NULL value is
 * left out). */
void cs_params_pack(char *out, size_t n, ...);
void cs_params_vpack(char *out, size_t n, va_list ap);
/* Add one pair to packed params. */
void cs_params_add(char *params, size_t n, const char *name,
    const char *value);
/* The value of name in packed params, copied to buf; NULL when absent. */
const char *cs_params_get(const char *params, const char *name, char *buf,
    size_t n);

/* The code's text in the locale's language with its parameters; an
 * unknown code shows as itself. Returns out. */
char *cs_code_text(const char *code, const char *params, char *out,
    size_t n);
/* The same with the pairs given here: cs_say(buf, n, "card.pulled",
 * "chip", serial, NULL). */
char *cs_say(char *out, size_t n, const char *code, ...);
/* A journal state word (cs_journal.h: "verified") of kind "run",
 * "record", "card" or "outcome" in the locale's language, for a person
 * to read (code state.<kind>.<word>); the journal and JSON keep the
 * word. A word the table lacks comes back as it is. Returns out. */
char *cs_state_text(const char *kind, const char *word, char *out, size_t n);
/* A journal state word as a message parameter: its code
 * state.<kind>.<word>, which every renderer tells in its language (the
 * CLI through cs_code_text, the kiosk page from GET /api/codes); a word
 * the table lacks comes back as it is (word itself, not copied). */
const char *cs_state_code(const char *kind, const char *word, char *buf,
    size_t n);

/* `"params":{"name":"value",...}` (no leading comma). */
void cs_params_json(FILE *f, const char *params);
/* `{"name":"value",...}` alone. */
void cs_params_json_object(FILE *f, const char *params);

/* One message: what happened (code, params), what to do next (advice, a
 * code rendered with the same parameters, or NULL) and the other
 * program's words (detail, never translated). */
typedef struct cs_msg {
	const char *code;
	const char *advice;
	char params[CS_PARAMS_MAX];
	char detail[1024]; /* as long as any why buffer */
} cs_msg;

void cs_msg_set(cs_msg *m, const char *code, ...);
/* "text (detail) - advice" in the locale's language. */
char *cs_msg_text(const cs_msg *m, char *out, size_t n);
/* "code: text (detail) - advice" in the source language, for the
 * journal, which every station and script reads alike. */
char *cs_msg_record(const cs_msg *m, char *out, size_t n);
/* A journal record of cs_msg_record ("code: text (detail) - advice", in
 * the source language) told again in the locale's language, its
 * parameters read back from the text by the code's template: for front
 * ends that show the journal's reasons to a person. Anything else (a
 * note that is not such a record, or one whose text does not fit its
 * code's template) comes back as it is. Returns out. */
char *cs_record_text(const char *record, char *out, size_t n);
/* The message as a JSON object's members (no braces, no leading comma):
 * "code", "params", "advice", "detail", and "text" in the locale's
 * language. */
void cs_msg_json(FILE *f, const cs_msg *m);

#endif
