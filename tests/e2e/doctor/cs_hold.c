/* cs_hold READER - hold the card in READER exclusively, as a desktop
 * daemon does, until stdin closes. Prints "held" once it holds it, so a
 * test waits for that line, not for time to pass. */
#include <stdio.h>
#include <winscard.h>

int main(int argc, char **argv)
{
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto;
	LONG rv;
	int c;

	if (argc != 2) {
		fprintf(stderr, "usage: cs_hold READER\n");
		return 2;
	}
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
	    SCARD_S_SUCCESS)
		return 1;
	rv = SCardConnect(ctx, argv[1], SCARD_SHARE_EXCLUSIVE,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto);
	if (rv != SCARD_S_SUCCESS) {
		fprintf(stderr, "cs_hold: %s\n", pcsc_stringify_error(rv));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	while ((c = getchar()) != EOF)
		;
	SCardDisconnect(h, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return 0;
}
