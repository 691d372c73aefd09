/* cs_usb.c - USB devices through libusb, strings through sysfs, drivers
 * through their Info.plist. */
#include "cs_usb.h"
#include "cs_err.h"
#include "cs_i18n.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libusb.h>

/* Info.plist files of real drivers are below 200 kB; this bounds a broken
 * or hostile one. */
#define PLIST_MAX (4u << 20)
#define PORTS_MAX 8

static void sysfs_string(const char *position, const char *attr, char *out,
    size_t outlen)
{
	char path[128];
	FILE *f;
	size_t n;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/%s", position,
	    attr);
	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fgets(out, (int)outlen, f) == NULL)
		out[0] = '\0';
	fclose(f);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
}

static void fill_position(libusb_device *ldev, cs_usb_dev *d)
{
	uint8_t ports[PORTS_MAX];
	int np, i;
	size_t off;

	np = libusb_get_port_numbers(ldev, ports, PORTS_MAX);
	off = (size_t)snprintf(d->position, sizeof(d->position), "%u",
	    d->bus);
	for (i = 0; i < np && off < sizeof(d->position); i++)
		off += (size_t)snprintf(d->position + off,
		    sizeof(d->position) - off, "%c%u", i == 0 ? '-' : '.',
		    ports[i]);
}

static int count_ccid(libusb_device *ldev)
{
	struct libusb_config_descriptor *cfg;
	int n = 0;

	/* The active configuration is read from sysfs' cached descriptors;
	 * the device itself is not touched. */
	if (libusb_get_active_config_descriptor(ldev, &cfg) != 0 &&
	    libusb_get_config_descriptor(ldev, 0, &cfg) != 0)
		return 0;
	for (int i = 0; i < cfg->bNumInterfaces; i++)
		for (int a = 0; a < cfg->interface[i].num_altsetting; a++)
			if (cfg->interface[i].altsetting[a].bInterfaceClass ==
			    CS_USB_CLASS_CCID) {
				n++;
				break;
			}
	libusb_free_config_descriptor(cfg);
	return n;
}

/* Sort by position so that output follows the sockets, not libusb's
 * order (which is the reverse of the kernel's). */
static int by_position(const void *a, const void *b)
{
	const cs_usb_dev *x = a, *y = b;

	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	return strcmp(x->position, y->position);
}

int cs_usb_enumerate(cs_usb_list *out, char *msg, size_t msglen)
{
	libusb_context *ctx = NULL;
	libusb_device **devs = NULL;
	ssize_t n;
	int r = CS_OK;

	out->dev = NULL;
	out->n = 0;
	if (libusb_init(&ctx) != 0) {
		snprintf(msg, msglen, _("libusb cannot start (no USB on this "
		    "machine, or /dev/bus/usb is missing)"));
		return CS_ERR_IO;
	}
	if ((n = libusb_get_device_list(ctx, &devs)) < 0) {
		snprintf(msg, msglen, _("libusb cannot list devices: %s"),
		    libusb_strerror((int)n));
		r = CS_ERR_IO;
		goto out;
	}
	if (n > 0 && (out->dev = calloc((size_t)n, sizeof(*out->dev))) ==
	    NULL) {
		r = CS_ERR_NOMEM;
		goto out;
	}
	for (ssize_t i = 0; i < n; i++) {
		struct libusb_device_descriptor dd;
		cs_usb_dev *d = &out->dev[out->n];

		if (libusb_get_device_descriptor(devs[i], &dd) != 0)
			continue;
		d->bus = libusb_get_bus_number(devs[i]);
		d->address = libusb_get_device_address(devs[i]);
		d->vid = dd.idVendor;
		d->pid = dd.idProduct;
		d->device_class = dd.bDeviceClass;
		fill_position(devs[i], d);
		snprintf(d->devnode, sizeof(d->devnode),
		    "/dev/bus/usb/%03u/%03u", d->bus, d->address);
		d->ccid_interfaces = count_ccid(devs[i]);
		/* A root hub's sysfs name is "usbN", not "N". */
		if (strchr(d->position, '-') == NULL) {
			char hub[CS_USB_PATH];

			snprintf(hub, sizeof(hub), "usb%u", d->bus);
			sysfs_string(hub, "serial", d->serial,
			    sizeof(d->serial));
			sysfs_string(hub, "product", d->product,
			    sizeof(d->product));
			sysfs_string(hub, "manufacturer", d->manufacturer,
			    sizeof(d->manufacturer));
		} else {
			sysfs_string(d->position, "serial", d->serial,
			    sizeof(d->serial));
			sysfs_string(d->position, "product", d->product,
			    sizeof(d->product));
			sysfs_string(d->position, "manufacturer",
			    d->manufacturer, sizeof(d->manufacturer));
		}
		out->n++;
	}
	if (out->n > 1)
		qsort(out->dev, out->n, sizeof(*out->dev), by_position);
out:
	if (devs != NULL)
		libusb_free_device_list(devs, 1);
	libusb_exit(ctx);
	if (r != CS_OK)
		cs_usb_list_free(out);
	return r;
}

void cs_usb_list_free(cs_usb_list *l)
{
	if (l == NULL)
		return;
	free(l->dev);
	l->dev = NULL;
	l->n = 0;
}

int cs_usb_is_ccid(const cs_usb_dev *d)
{
	return d->ccid_interfaces > 0;
}

/* --- Info.plist ------------------------------------------------------- */

/* Copy the XML text between p and end into out, decoding the five
 * predefined entities (reader names contain "&amp;"). */
static void xml_text(const char *p, const char *end, char *out, size_t outlen)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'},
	    {"&quot;", '"'}, {"&apos;", '\''}};
	size_t o = 0;

	while (p < end && o + 1 < outlen) {
		size_t k;

		if (*p == '&') {
			for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
				size_t l = strlen(ents[k].ent);

				if ((size_t)(end - p) >= l &&
				    strncmp(p, ents[k].ent, l) == 0) {
					out[o++] = ents[k].c;
					p += l;
					break;
				}
			}
			if (k < sizeof(ents) / sizeof(ents[0]))
				continue;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
}

/* The value of <key>key</key>: a pointer just after the key, NULL if
 * absent. Comments are blanked before we get here. */
static const char *plist_key(const char *plist, const char *key)
{
	char pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "<key>%s</key>", key);
	if ((p = strstr(plist, pat)) == NULL)
		return NULL;
	return p + strlen(pat);
}

/* The n-th <string> of the <array> (or the single <string>) after p. */
static int plist_string(const char *p, size_t idx, char *out, size_t outlen)
{
	const char *arr_end = NULL, *s, *e;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (strncmp(p, "<array>", 7) == 0) {
		if ((arr_end = strstr(p, "</array>")) == NULL)
			return CS_ERR_FORMAT;
	} else if (idx != 0)
		return CS_ERR_NOTFOUND;
	s = p;
	for (size_t i = 0;; i++) {
		if ((s = strstr(s, "<string>")) == NULL ||
		    (arr_end != NULL && s > arr_end))
			return CS_ERR_NOTFOUND;
		s += 8;
		if ((e = strstr(s, "</string>")) == NULL)
			return CS_ERR_FORMAT;
		if (i == idx)
			break;
		s = e;
	}
	xml_text(s, e, out, outlen);
	return CS_OK;
}

/* The next <string> of the array *p points into; advances *p. Stops at
 * the array's end (or after the single <string> of a plain value). */
static int plist_next(const char **p, char *out, size_t outlen)
{
	const char *s = *p, *e, *close;

	if (s == NULL)
		return CS_ERR_NOTFOUND;
	if ((s = strstr(s, "<string>")) == NULL)
		return CS_ERR_NOTFOUND;
	close = strstr(*p, "</array>");
	if (close != NULL && close < s)
		return CS_ERR_NOTFOUND;
	s += 8;
	if ((e = strstr(s, "</string>")) == NULL)
		return CS_ERR_FORMAT;
	xml_text(s, e, out, outlen);
	*p = e + 9;
	return CS_OK;
}

int cs_usb_drivers_parse(const char *plist_in, const char *bundle,
    cs_usb_drivers *out)
{
	char *plist, *c, *ce;
	const char *pv, *pp, *pn, *pver;
	char vbuf[32], pbuf[32], version[32] = "";
	int r = CS_OK;

	if ((plist = strdup(plist_in)) == NULL)
		return CS_ERR_NOMEM;
	/* Blank comments: the CCID bundle documents its options in them. */
	for (c = plist; (c = strstr(c, "<!--")) != NULL; c = ce) {
		if ((ce = strstr(c, "-->")) == NULL) {
			*c = '\0';
			break;
		}
		ce += 3;
		memset(c, ' ', (size_t)(ce - c));
	}
	pv = plist_key(plist, "ifdVendorID");
	pp = plist_key(plist, "ifdProductID");
	pn = plist_key(plist, "ifdFriendlyName");
	if (pv == NULL || pp == NULL || pn == NULL) {
		r = CS_ERR_FORMAT;
		goto out;
	}
	if ((pver = plist_key(plist, "CFBundleShortVersionString")) != NULL)
		(void)plist_string(pver, 0, version, sizeof(version));
	/* Walk the three parallel arrays together: one pass, not one
	 * search per entry (the CCID bundle lists hundreds). */
	for (;;) {
		cs_usb_driver_entry *e;

		if (plist_next(&pv, vbuf, sizeof(vbuf)) != CS_OK ||
		    plist_next(&pp, pbuf, sizeof(pbuf)) != CS_OK)
			break;
		if (out->n % 256 == 0) {
			void *t = realloc(out->e, (out->n + 256) * sizeof(*e));

			if (t == NULL) {
				r = CS_ERR_NOMEM;
				goto out;
			}
			out->e = t;
		}
		e = &out->e[out->n];
		memset(e, 0, sizeof(*e));
		e->vid = (uint16_t)strtoul(vbuf, NULL, 16);
		e->pid = (uint16_t)strtoul(pbuf, NULL, 16);
		if (plist_next(&pn, e->name, sizeof(e->name)) != CS_OK)
			e->name[0] = '\0';
		snprintf(e->bundle, sizeof(e->bundle), "%s", bundle);
		snprintf(e->version, sizeof(e->version), "%s", version);
		out->n++;
	}
	out->nbundles++;
out:
	free(plist);
	return r;
}

static int read_small_file(const char *path, char **out)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	int r = CS_OK;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return CS_ERR_IO;
	do {
		if (len + 4096 + 1 > cap) {
			char *t;

			cap = cap ? cap * 2 : 65536;
			if (cap > PLIST_MAX) {
				r = CS_ERR_LIMIT;
				goto out;
			}
			if ((t = realloc(buf, cap)) == NULL) {
				r = CS_ERR_NOMEM;
				goto out;
			}
			buf = t;
		}
		got = fread(buf + len, 1, 4096, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		r = CS_ERR_IO;
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return r;
}

int cs_usb_drivers_load(const char *dir, cs_usb_drivers *out)
{
	DIR *dp;
	struct dirent *de;
	int r = CS_OK;

	out->e = NULL;
	out->n = 0;
	out->nbundles = 0;
	if ((dp = opendir(dir)) == NULL)
		return errno == ENOENT ? CS_OK : CS_ERR_IO;
	while ((de = readdir(dp)) != NULL) {
		char path[512], *plist;
		size_t l = strlen(de->d_name);

		if (l < 7 || strcmp(de->d_name + l - 7, ".bundle") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/Contents/Info.plist", dir,
		    de->d_name);
		if (read_small_file(path, &plist) != CS_OK)
			continue;
		r = cs_usb_drivers_parse(plist, de->d_name, out);
		free(plist);
		if (r == CS_ERR_NOMEM)
			break;
		r = CS_OK;
	}
	closedir(dp);
	if (r != CS_OK)
		cs_usb_drivers_free(out);
	return r;
}

void cs_usb_drivers_free(cs_usb_drivers *d)
{
	if (d == NULL)
		return;
	free(d->e);
	d->e = NULL;
	d->n = 0;
	d->nbundles = 0;
}

const cs_usb_driver_entry *cs_usb_drivers_find(const cs_usb_drivers *d,
    uint16_t vid, uint16_t pid)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->e[i].vid == vid && d->e[i].pid == pid)
			return &d->e[i];
	return NULL;
}
