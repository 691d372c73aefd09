/* pcsc_view.c - a PC/SC provider that shows OpenSC one reader only.
 *
 * OpenSC's PKCS#11 module binds every card in every reader it can see, and it
 * serialises all of its calls under one lock. The station therefore runs one
 * worker process per reader, and each worker loads OpenSC with this library
 * as its PC/SC provider (opensc.conf: reader_driver pcsc { provider_library
 * }). Every call goes to the real libpcsclite unchanged, except that
 * SCardListReaders lists only the reader named in CARDSTATION_READER: a
 * worker never touches, binds or slows down another reader's card.
 *
 * Being a provider loaded by dlopen, this file keeps the real library's
 * handle in static storage: there is no main() to own it. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <PCSC/winscard.h>

#define REAL_LIB "libpcsclite.so.1"

struct real {
	void *lib;
	LONG (*establish)(DWORD, LPCVOID, LPCVOID, LPSCARDCONTEXT);
	LONG (*release)(SCARDCONTEXT);
	LONG (*is_valid)(SCARDCONTEXT);
	LONG (*connect)(SCARDCONTEXT, LPCSTR, DWORD, DWORD, LPSCARDHANDLE, LPDWORD);
	LONG (*reconnect)(SCARDHANDLE, DWORD, DWORD, DWORD, LPDWORD);
	LONG (*disconnect)(SCARDHANDLE, DWORD);
	LONG (*begin)(SCARDHANDLE);
	LONG (*end)(SCARDHANDLE, DWORD);
	LONG (*status)(SCARDHANDLE, LPSTR, LPDWORD, LPDWORD, LPDWORD, LPBYTE, LPDWORD);
	LONG (*get_status_change)(SCARDCONTEXT, DWORD, SCARD_READERSTATE *, DWORD);
	LONG (*control)(SCARDHANDLE, DWORD, LPCVOID, DWORD, LPVOID, DWORD, LPDWORD);
	LONG (*transmit)(SCARDHANDLE, const SCARD_IO_REQUEST *, LPCBYTE, DWORD,
	    SCARD_IO_REQUEST *, LPBYTE, LPDWORD);
	LONG (*list_groups)(SCARDCONTEXT, LPSTR, LPDWORD);
	LONG (*list_readers)(SCARDCONTEXT, LPCSTR, LPSTR, LPDWORD);
	LONG (*free_memory)(SCARDCONTEXT, LPCVOID);
	LONG (*cancel)(SCARDCONTEXT);
	LONG (*get_attrib)(SCARDHANDLE, DWORD, LPBYTE, LPDWORD);
	LONG (*set_attrib)(SCARDHANDLE, DWORD, LPCBYTE, DWORD);
};

static struct real real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

#define RESOLVE(field, name) \
	*(void **)(&real.field) = dlsym(real.lib, name)

static void load_real(void)
{
	if ((real.lib = dlopen(REAL_LIB, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return;
	RESOLVE(establish, "SCardEstablishContext");
	RESOLVE(release, "SCardReleaseContext");
	RESOLVE(is_valid, "SCardIsValidContext");
	RESOLVE(connect, "SCardConnect");
	RESOLVE(reconnect, "SCardReconnect");
	RESOLVE(disconnect, "SCardDisconnect");
	RESOLVE(begin, "SCardBeginTransaction");
	RESOLVE(end, "SCardEndTransaction");
	RESOLVE(status, "SCardStatus");
	RESOLVE(get_status_change, "SCardGetStatusChange");
	RESOLVE(control, "SCardControl");
	RESOLVE(transmit, "SCardTransmit");
	RESOLVE(list_groups, "SCardListReaderGroups");
	RESOLVE(list_readers, "SCardListReaders");
	RESOLVE(free_memory, "SCardFreeMemory");
	RESOLVE(cancel, "SCardCancel");
	RESOLVE(get_attrib, "SCardGetAttrib");
	RESOLVE(set_attrib, "SCardSetAttrib");
}

/* Every entry point loads the real library first; a missing one is an
 * internal error OpenSC reports as such. */
#define REAL(field) \
	(pthread_once(&real_once, load_real), real.field == NULL) ? \
	    SCARD_F_INTERNAL_ERROR : real.field

LONG SCardEstablishContext(DWORD scope, LPCVOID r1, LPCVOID r2, LPSCARDCONTEXT ctx)
{
	return (REAL(establish)(scope, r1, r2, ctx));
}

LONG SCardReleaseContext(SCARDCONTEXT ctx)
{
	return (REAL(release)(ctx));
}

LONG SCardIsValidContext(SCARDCONTEXT ctx)
{
	return (REAL(is_valid)(ctx));
}

LONG SCardConnect(SCARDCONTEXT ctx, LPCSTR reader, DWORD share, DWORD proto,
    LPSCARDHANDLE card, LPDWORD active)
{
	return (REAL(connect)(ctx, reader, share, proto, card, active));
}

LONG SCardReconnect(SCARDHANDLE card, DWORD share, DWORD proto, DWORD init,
    LPDWORD active)
{
	return (REAL(reconnect)(card, share, proto, init, active));
}

LONG SCardDisconnect(SCARDHANDLE card, DWORD disposition)
{
	return (REAL(disconnect)(card, disposition));
}

LONG SCardBeginTransaction(SCARDHANDLE card)
{
	return (REAL(begin)(card));
}

LONG SCardEndTransaction(SCARDHANDLE card, DWORD disposition)
{
	return (REAL(end)(card, disposition));
}

LONG SCardStatus(SCARDHANDLE card, LPSTR names, LPDWORD nameslen,
    LPDWORD state, LPDWORD proto, LPBYTE atr, LPDWORD atrlen)
{
	return (REAL(status)(card, names, nameslen, state, proto, atr, atrlen));
}

LONG SCardGetStatusChange(SCARDCONTEXT ctx, DWORD timeout,
    SCARD_READERSTATE *states, DWORD n)
{
	return (REAL(get_status_change)(ctx, timeout, states, n));
}

LONG SCardControl(SCARDHANDLE card, DWORD code, LPCVOID in, DWORD inlen,
    LPVOID out, DWORD outlen, LPDWORD got)
{
	return (REAL(control)(card, code, in, inlen, out, outlen, got));
}

LONG SCardTransmit(SCARDHANDLE card, const SCARD_IO_REQUEST *spci,
    LPCBYTE in, DWORD inlen, SCARD_IO_REQUEST *rpci, LPBYTE out, LPDWORD outlen)
{
	return (REAL(transmit)(card, spci, in, inlen, rpci, out, outlen));
}

LONG SCardListReaderGroups(SCARDCONTEXT ctx, LPSTR groups, LPDWORD len)
{
	return (REAL(list_groups)(ctx, groups, len));
}

LONG SCardFreeMemory(SCARDCONTEXT ctx, LPCVOID mem)
{
	return (REAL(free_memory)(ctx, mem));
}

LONG SCardCancel(SCARDCONTEXT ctx)
{
	return (REAL(cancel)(ctx));
}

LONG SCardGetAttrib(SCARDHANDLE card, DWORD id, LPBYTE attr, LPDWORD len)
{
	return (REAL(get_attrib)(card, id, attr, len));
}

LONG SCardSetAttrib(SCARDHANDLE card, DWORD id, LPCBYTE attr, DWORD len)
{
	return (REAL(set_attrib)(card, id, attr, len));
}

/* The one reader of CARDSTATION_READER, if PC/SC has it; all readers when the
 * variable is unset (the view is then a plain pass-through). */
LONG SCardListReaders(SCARDCONTEXT ctx, LPCSTR groups, LPSTR readers,
    LPDWORD len)
{
	const char *want = getenv("CARDSTATION_READER");
	DWORD alllen = 0, outlen;
	char *all;
	const char *p;
	LONG rv;

	if (want == NULL)
		return (REAL(list_readers)(ctx, groups, readers, len));
	if (len == NULL || *len == SCARD_AUTOALLOCATE)
		return SCARD_E_INVALID_PARAMETER;
	if ((rv = REAL(list_readers)(ctx, groups, NULL, &alllen)) != SCARD_S_SUCCESS)
		return rv;
	if ((all = calloc(1, alllen + 1)) == NULL)
		return SCARD_E_NO_MEMORY;
	if ((rv = REAL(list_readers)(ctx, groups, all, &alllen)) != SCARD_S_SUCCESS) {
		free(all);
		return rv;
	}
	for (p = all; *p != '\0'; p += strlen(p) + 1)
		if (strcmp(p, want) == 0)
			break;
	if (*p == '\0') {
		free(all);
		return SCARD_E_NO_READERS_AVAILABLE;
	}
	outlen = (DWORD)strlen(want) + 2; /* the name, its NUL, the list's NUL */
	if (readers != NULL) {
		if (*len < outlen) {
			*len = outlen;
			free(all);
			return SCARD_E_INSUFFICIENT_BUFFER;
		}
		memcpy(readers, want, outlen - 1);
		readers[outlen - 1] = '\0';
	}
	*len = outlen;
	free(all);
	return SCARD_S_SUCCESS;
}
