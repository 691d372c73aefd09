/* cs_cmd.h - the subcommands of the `cardstation` command.
 *
 * Each takes the arguments after its own name (argv[0] is the subcommand) and
 * returns the process exit status: 0 all good, 1 some records or checks
 * failed, 2 usage error or nothing could be done. */
#ifndef CS_CMD_H
#define CS_CMD_H

enum { CS_EXIT_OK = 0, CS_EXIT_SOME = 1, CS_EXIT_FAIL = 2 };

int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_card(int argc, char **argv);
int cmd_kiosk(int argc, char **argv);

#endif
