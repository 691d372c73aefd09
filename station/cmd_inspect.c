/* cmd_inspect.c - placeholder until its part lands. */
#include "cs_cmd.h"
#include <stdio.h>

int cmd_inspect(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "cardstation: %s: not built yet\n", argv[0]);
	return CS_EXIT_FAIL;
}
