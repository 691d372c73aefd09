/* cs_json.c - JSON string escaping; UTF-8 passes through unchanged. */
#include "cs_json.h"

void cs_json_str(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void cs_json_kv(FILE *f, int first, const char *key, const char *value)
{
	if (!first)
		fputc(',', f);
	cs_json_str(f, key);
	fputc(':', f);
	cs_json_str(f, value);
}
