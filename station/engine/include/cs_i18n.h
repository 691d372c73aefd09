/* cs_i18n.h - the operator's language: GNU gettext, English as the source.
 *
 * Every sentence an operator reads is written in English in the code,
 * wrapped in _() (or N_() where it is only marked, e.g. in a table), and
 * looked up in the "cardstation" catalogue of the locale's language
 * (po/ja.po -> <localedir>/ja/LC_MESSAGES/cardstation.mo). Scripts read
 * codes, never these sentences (cs_codes.h). */
#ifndef CS_I18N_H
#define CS_I18N_H

#include <libintl.h>

#define CS_TEXTDOMAIN "cardstation"

#define _(s) dgettext(CS_TEXTDOMAIN, s)
#define N_(s) (s)

/* setlocale(LC_ALL, "") and the catalogue's folder: $CARDSTATION_LOCALEDIR,
 * else the installed one. Numbers stay in the C locale's form (a decimal
 * point in every language), so files and JSON do not change with it. Once,
 * in main, before any thread. */
void cs_i18n_init(void);

#endif
