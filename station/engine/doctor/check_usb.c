/* check_usb.c - can pcscd open each USB reader, with a driver for it? */
#include "dr.h"
#include "cs_profile.h"
#include "cs_err.h"
#include "cs_journal.h"
#include "cs_child.h"
#include "cs_i18n.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <winscard.h>

/* --- USB ------------------------------------------------------------- */

static int may_open(const struct stat *st, const cs_pcscd_proc *p)
{
	if (p->uid == 0)
		return 1;
	if (st->st_uid == p->uid)
		return (st->st_mode & 0600) == 0600;
	for (size_t i = 0; i < p->ngids; i++)
		if (st->st_gid == p->gids[i])
			return (st->st_mode & 0060) == 0060;
	return (st->st_mode & 0006) == 0006;
}

void cs_doctor_check_usb(cs_findings *fs, const cs_usb_list *usb,
    const cs_usb_drivers *drv, const cs_reader_list *readers,
    const cs_pcscd_proc *pcscd)
{
	size_t others = 0, nreaders = 0;

	for (size_t k = 0; k < usb->n; k++) {
		const cs_usb_dev *d = &usb->dev[k];
		const cs_usb_driver_entry *e = cs_usb_drivers_find(drv, d->vid,
		    d->pid);
		const char *served = NULL;
		char label[CS_USB_STR * 3 + 96];
		struct stat st;
		cs_finding *f;

		if (!cs_usb_is_ccid(d) && e == NULL) {
			if (strchr(d->position, '-') != NULL)
				others++;
			continue;
		}
		nreaders++;
		snprintf(label, sizeof(label), "%04x:%04x '%s%s%s'%s%s at "
		    "usb:%s", d->vid, d->pid, d->manufacturer,
		    d->manufacturer[0] ? " " : "", d->product,
		    d->serial[0] ? " serial " : "", d->serial, d->position);
		for (size_t i = 0; readers && i < readers->n && !served; i++)
			if (readers->r[i].usb == (int)k)
				served = readers->r[i].name;
		if (served) {
			cs_findings_add(fs, CS_SEV_OK, "usb",
			    "doctor.usb.served", "usb", label, "reader", served,
			    NULL);
			continue;
		}
		if (e == NULL) {
			char bundles[256] = "";
			size_t off = 0;

			/* Name the Info.plist files that were asked. */
			for (size_t i = 0; i < drv->n && off < sizeof(bundles);
			    i++)
				if (i == 0 || strcmp(drv->e[i].bundle,
				    drv->e[i - 1].bundle) != 0)
					off += (size_t)snprintf(bundles + off,
					    sizeof(bundles) - off, "%s%s %s",
					    off ? ", " : "", drv->e[i].bundle,
					    drv->e[i].version);
			f = cs_findings_add(fs, CS_SEV_FAIL, "usb",
			    "doctor.usb.no-driver", "usb", label, "bundles",
			    bundles[0] ? bundles : "-", "id",
			    dr_fmt(DR_NUM, "%04x:%04x", d->vid, d->pid), NULL);
			cs_finding_advise(f, "todo.usb.unsupported", NULL);
			continue;
		}
		if (stat(d->devnode, &st) == 0 && pcscd->pid > 0 &&
		    !may_open(&st, pcscd)) {
			struct passwd *pw = getpwuid(pcscd->uid);
			struct group *gr = getgrgid(st.st_gid);

			f = cs_findings_add(fs, CS_SEV_FAIL, "usb",
			    "doctor.usb.no-access", "usb", label, "user",
			    pw ? pw->pw_name : "?", "node", d->devnode, "mode",
			    dr_fmt(DR_NUM, "%04o", (unsigned)(st.st_mode & 07777)),
			    "group", gr ? gr->gr_name : "?", NULL);
			cs_finding_advise(f, "todo.usb.udev", NULL);
			continue;
		}
		f = cs_findings_add(fs, CS_SEV_WARN, "usb",
		    "doctor.usb.not-shown", "usb", label, "bundle", e->bundle,
		    "version", e->version, "name", e->name, NULL);
		if (pcscd->pid == 0)
			cs_finding_advise(f, "todo.usb.start-pcscd", NULL);
		else
			cs_finding_advise(f, "todo.usb.replug", NULL);
	}
	if (nreaders == 0)
		cs_findings_add(fs, CS_SEV_INFO, "usb", "doctor.usb.no-reader",
		    "others", dr_fmt(DR_NUM, "%zu", others), NULL);
	else if (others > 0)
		cs_findings_add(fs, CS_SEV_INFO, "usb", "doctor.usb.others",
		    "others", dr_fmt(DR_NUM, "%zu", others), NULL);
}


/* Before the readers are looked at: the USB devices and PC/SC drivers,
 * which tell where each reader is plugged (--reader usb:BUS-PORT). */
void dr_usb_locate(dr_state *s)
{
	char msg[256];
	int r;

	if ((r = cs_usb_drivers_load(s->o->drivers_dir, &s->drv)) ==
	    CS_ERR_NOMEM) {
		s->r = r;
		return;
	}
	if (s->drv.nbundles == 0) {
		cs_finding *f = cs_findings_add(s->out, CS_SEV_FAIL, "usb",
		    "doctor.usb.no-drivers", "dir", s->o->drivers_dir, NULL);

		cs_finding_advise(f, "todo.usb.ccid", NULL);
	}
	if (cs_usb_enumerate(&s->usb, msg, sizeof(msg)) == CS_OK)
		s->have_usb = 1;
	else
		cs_findings_add(s->out, CS_SEV_INFO, "usb",
		    "doctor.usb.cannot-list", "detail", msg, NULL);
	cs_reader_locate_usb(&s->rl, &s->usb, &s->drv, s->ctx);
}

void dr_usb(dr_state *s)
{
	if (s->have_usb)
		cs_doctor_check_usb(s->out, &s->usb, &s->drv, &s->rl, &s->pcscd);
}
