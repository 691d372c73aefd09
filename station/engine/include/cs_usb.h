/* cs_usb.h - USB smart-card readers as the machine sees them.
 *
 * pcscd only shows a reader once a driver bundle claims its VID:PID and it
 * can open the device node. This part looks underneath PC/SC: it lists the
 * USB devices through libusb, marks the ones with a CCID interface (class
 * 0x0B), reads the strings the kernel already fetched (sysfs, so no device is
 * opened or disturbed), and tells which driver bundle lists a VID:PID.
 *
 * A device's position is its bus and port chain, written as Linux names it
 * in sysfs: "1-3.2" is bus 1, root port 3, port 2 of the hub behind it. It
 * stays the same while the reader stays plugged into the same socket, unlike
 * the device address, which changes at every replug. */
#ifndef CS_USB_H
#define CS_USB_H

#include <stddef.h>
#include <stdint.h>

#define CS_USB_CLASS_CCID 0x0B
#define CS_USB_STR 128
#define CS_USB_PATH 32

typedef struct cs_usb_dev {
	uint8_t bus;
	uint8_t address;
	char position[CS_USB_PATH];   /* "1-3.2"; "1" for a root hub */
	char devnode[CS_USB_PATH];    /* "/dev/bus/usb/001/007" */
	uint16_t vid;
	uint16_t pid;
	uint8_t device_class;
	int ccid_interfaces;          /* interfaces of class 0x0B */
	char manufacturer[CS_USB_STR]; /* "" when the device has none */
	char product[CS_USB_STR];
	char serial[CS_USB_STR];
} cs_usb_dev;

typedef struct cs_usb_list {
	cs_usb_dev *dev;
	size_t n;
} cs_usb_list;

/* Every USB device of the machine (root hubs included). On a machine
 * without USB (a container, no /dev/bus/usb) this fails with CS_ERR_IO and
 * msg says why; the list is empty then. */
int cs_usb_enumerate(cs_usb_list *out, char *msg, size_t msglen);
void cs_usb_list_free(cs_usb_list *l);

/* A device is a reader candidate when it has a CCID interface. */
int cs_usb_is_ccid(const cs_usb_dev *d);

/* What the PC/SC driver bundles (Info.plist files) promise to serve. */
typedef struct cs_usb_driver_entry {
	uint16_t vid;
	uint16_t pid;
	char name[CS_USB_STR];   /* ifdFriendlyName: pcscd's reader name */
	char bundle[64];         /* "ifd-ccid.bundle" */
	char version[32];        /* CFBundleShortVersionString, "" if none */
} cs_usb_driver_entry;

typedef struct cs_usb_drivers {
	cs_usb_driver_entry *e;
	size_t n;
	size_t nbundles;
} cs_usb_drivers;

/* Default directory where pcsc-lite looks for driver bundles on Debian. */
#define CS_PCSC_DRIVERS_DIR "/usr/lib/pcsc/drivers"

/* Read every DIR/\*.bundle/Contents/Info.plist. A missing directory gives
 * an empty list and CS_OK (no driver installed is a finding, not an error);
 * a bundle that cannot be parsed is skipped. */
int cs_usb_drivers_load(const char *dir, cs_usb_drivers *out);
/* Parse one Info.plist held in memory; appends to out. */
int cs_usb_drivers_parse(const char *plist, const char *bundle,
    cs_usb_drivers *out);
void cs_usb_drivers_free(cs_usb_drivers *d);
/* The entry serving vid:pid, or NULL. */
const cs_usb_driver_entry *cs_usb_drivers_find(const cs_usb_drivers *d,
    uint16_t vid, uint16_t pid);

#endif
