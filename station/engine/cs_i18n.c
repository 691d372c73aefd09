/* cs_i18n.c - the locale and the catalogue (cs_i18n.h). */
#include "cs_i18n.h"

#include <locale.h>
#include <stdlib.h>

#ifndef CS_LOCALEDIR
#define CS_LOCALEDIR "/usr/local/share/locale"
#endif

void cs_i18n_init(void)
{
	const char *dir = getenv("CARDSTATION_LOCALEDIR");

	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	bindtextdomain(CS_TEXTDOMAIN, dir != NULL && *dir != '\0' ? dir :
	    CS_LOCALEDIR);
	bind_textdomain_codeset(CS_TEXTDOMAIN, "UTF-8");
	textdomain(CS_TEXTDOMAIN);
}
