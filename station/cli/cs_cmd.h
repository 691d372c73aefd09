/* cs_cmd.h - the subcommands of the `cardstation` command.
 *
 * Each takes the arguments after its own name (argv[0] is the subcommand) and
 * returns the process exit status: 0 all good, 1 some records or checks
 * failed, 2 usage error or nothing could be done. */
#ifndef CS_CMD_H
#define CS_CMD_H

#include <pwd.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

enum { CS_EXIT_OK = 0, CS_EXIT_SOME = 1, CS_EXIT_FAIL = 2 };

/* Who runs this command, for the journal's operator: the Unix account of
 * the real user id (not $USER, which anyone sets; not the effective id of
 * a wrapper), and beside it the --operator text if given:
 * "tanaka (田中 太郎)". Typed text alone would not say who it was. */
static inline const char *cs_cmd_actor(const char *typed, char *buf,
    size_t len)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096], acct[64];
	uid_t uid = getuid();

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
		snprintf(acct, sizeof(acct), "%s", pw.pw_name);
	else
		snprintf(acct, sizeof(acct), "uid %lu", (unsigned long)uid);
	if (typed != NULL && *typed != '\0')
		snprintf(buf, len, "%s (%s)", acct, typed);
	else
		snprintf(buf, len, "%s", acct);
	return buf;
}

int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_card(int argc, char **argv);
int cmd_kiosk(int argc, char **argv);
int cmd_journal(int argc, char **argv);

#endif
