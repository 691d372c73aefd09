/* cs_verify_json.c - the one JSON shape of a card-verification report:
 * `cardstation verify --json` and the kiosk's desk answer (kiosk/ks_desk.c)
 * both write it with cs_vreport_json_members. */
#include "cs_verify.h"
#include "cs_codes.h"
#include "cs_json.h"

#include <stdio.h>

static void json_int(FILE *f, const char *k, long v)
{
	fprintf(f, ",\"%s\":%ld", k, v);
}

static void json_bool(FILE *f, const char *k, int v)
{
	fprintf(f, ",\"%s\":%s", k, v ? "true" : "false");
}

static void write_cert(FILE *f, const cs_vcert *c)
{
	fputc('{', f);
	cs_json_kv(f, 1, "id", c->id);
	cs_json_kv(f, 0, "label", c->label);
	cs_json_kv(f, 0, "serial", c->parsed ? c->serial : NULL);
	cs_json_kv(f, 0, "subject", c->parsed ? c->subject : NULL);
	cs_json_kv(f, 0, "issuer", c->parsed ? c->issuer : NULL);
	cs_json_kv(f, 0, "not_before", c->parsed ? c->not_before : NULL);
	cs_json_kv(f, 0, "not_after", c->parsed ? c->not_after : NULL);
	json_int(f, "days_left", c->days_left);
	json_bool(f, "ca", c->is_ca);
	fprintf(f, ",\"has_key\":%s", c->has_key > 0 ? "true" :
	    c->has_key == 0 ? "false" : "null");
	cs_json_kv(f, 0, "key_type", c->key_type);
	cs_json_kv(f, 0, "chain", c->chain > 0 ? "ok" : c->chain == 0 ?
	    "broken" : "unchecked");
	cs_json_kv(f, 0, "holder", c->j_holder[0] ? c->j_holder : NULL);
	cs_json_kv(f, 0, "mail", c->j_mail[0] ? c->j_mail : NULL);
	cs_json_kv(f, 0, "bound", !c->j_known ? "unknown" :
	    c->j_bound_here > 0 ? "this-card" : c->j_bound_here == 0 ?
	    "other-card" : "none");
	cs_json_kv(f, 0, "bound_chip", c->j_bound_chip[0] ?
	    c->j_bound_chip : NULL);
	cs_json_kv(f, 0, "signature", c->signed_ok > 0 ? "verified" :
	    c->signed_ok == 0 ? "failed" : "untested");
	cs_json_kv(f, 0, "mechanism", c->mechanism[0] ? c->mechanism : NULL);
	fputc('}', f);
}

void cs_vreport_json_members(FILE *f, const cs_vreport *r)
{
	char why[160];

	cs_json_kv(f, 1, "verdict", cs_verdict_name(r->verdict));
	cs_json_kv(f, 0, "reader", r->reader);
	cs_json_kv(f, 0, "card_error", r->card_error[0] ? r->card_error : NULL);
	cs_json_kv(f, 0, "chip_serial", r->chip_serial[0] ? r->chip_serial : NULL);
	cs_json_kv(f, 0, "id_source", r->id_source[0] ? r->id_source : NULL);
	cs_json_kv(f, 0, "atr", r->atr);
	cs_json_kv(f, 0, "profile", r->profile[0] ? r->profile : NULL);
	cs_json_kv(f, 0, "pkcs15_serial", r->pkcs15_serial[0] ?
	    r->pkcs15_serial : NULL);
	json_bool(f, "pin_set", r->pin_set);
	json_int(f, "pin_tries", r->pin_tries);
	json_int(f, "pin_max", r->pin_max);
	json_bool(f, "pin_given", r->pin_given);
	cs_json_kv(f, 0, "login_error", r->pin_given && r->login_rc != 0 ?
	    r->login_error : NULL);
	fprintf(f, ",\"journal\":{");
	cs_json_kv(f, 1, "error", r->journal_error[0] ? r->journal_error : NULL);
	json_bool(f, "card_known", r->card_known);
	json_int(f, "card_id", (long)r->card_id);
	cs_json_kv(f, 0, "card_state", r->card_state[0] ? r->card_state : NULL);
	cs_json_kv(f, 0, "printed_no", r->printed_no[0] ? r->printed_no : NULL);
	fprintf(f, "},\"certificates\":[");
	for (size_t i = 0; i < r->ncerts; i++) {
		if (i > 0)
			fputc(',', f);
		write_cert(f, &r->certs[i]);
	}
	fprintf(f, "],\"uses\":{");
	for (int u = 0; u < CS_VUSE_COUNT; u++) {
		int v = cs_verify_use(r, (cs_vuse)u, why, sizeof(why));

		fprintf(f, "%s\"%s\":%s", u ? "," : "", cs_vuse_name((cs_vuse)u),
		    v > 0 ? "true" : v == 0 ? "false" : "null");
	}
	fprintf(f, "},\"reasons\":[");
	for (size_t i = 0; i < r->nreasons; i++) {
		fprintf(f, "%s{", i ? "," : "");
		cs_json_kv(f, 1, "level", cs_vlevel_name(r->reasons[i].level));
		cs_json_kv(f, 0, "code", r->reasons[i].code);
		/* text in the locale's language; the code's parameters and
		 * another part's words for a front end that renders the code
		 * ("verify.<code>" of cs_codes.h) in its own. */
		fputc(',', f);
		cs_params_json(f, r->reasons[i].params);
		cs_json_kv(f, 0, "detail", r->reasons[i].detail[0] ?
		    r->reasons[i].detail : NULL);
		cs_json_kv(f, 0, "text", r->reasons[i].text);
		fputc('}', f);
	}
	fputc(']', f);
}
