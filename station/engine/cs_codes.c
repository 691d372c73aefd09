/* cs_codes.c - the one table of codes and their English source texts
 * (cs_codes.h). A new code gets its line here and its Japanese in
 * po/ja.po; the test po.catalogue fails on a text without one. */
#include "cs_codes.h"
#include "cs_err.h"
#include "cs_i18n.h"
#include "cs_json.h"
#include "cs_problem.h"

#include <stdio.h>
#include <string.h>

static const cs_code_def table[] = {
	/* ---- a reader's state (encode, kiosk) ---- */
	{"reader.insert", N_("insert a card")},
	{"reader.remove", N_("take the card out")},
	{"reader.pcscd-lost", N_("pcscd stopped answering")},
	{"reader.gone", N_("the reader is gone")},
	{"reader.no-pcscd", N_("pcscd does not answer")},
	{"reader.no-legacy-provider", N_("OpenSSL's legacy provider cannot be loaded")},
	{"reader.cannot-start", N_("this reader's worker cannot start")},
	{"reader.busy", N_("another station process is finishing a card on this reader: waiting for it")},
	{"journal.server-lost", N_("the journal server {journal} does not answer: this station pauses, writes nothing and goes on when the server is back")},
	{"journal.server-back", N_("the journal server {journal} answers again: the station goes on")},
	{"run.not-found", N_("there is no run {run} in the journal")},
	{"run.archive-unreadable", N_("the run's archive {file} cannot be read")},
	{"run.archive-changed", N_("{file} has changed since the run was imported")},
	{"run.needs-pairing", N_("run {run} is in pairing-list mode: give the list with --pairing FILE")},
	{"run.resumed", N_("resumed: {interrupted} card(s) were being written when the station stopped; {released} record(s) back in the queue")},
	{"run.joined", N_("joined: {held} record(s) are being written by another station process on this run; they stay its own")},
	{"run.wait-partial", N_("{count} record(s) wait for the card left half written for them: insert it again to finish")},
	{"run.stopped", N_("stopped")},
	{"run.readers-stopped", N_("every reader stopped")},
	{"run.waits-for-card", N_("record {seq} ({holder}) waits for card {chip}, left half written for them: insert it to finish")},
	{"run.waits-for-card-printed", N_("record {seq} ({holder}) waits for card {chip}, printed number {printed}, left half written for them: insert it to finish")},
	{"run.waits-for-paired-card", N_("record {seq} ({holder}) waits for card {card}, which the pairing list names for them")},
	{"run.waits-unpaired", N_("record {seq} ({holder}) is in no line of the pairing list: no card will take it")},
	/* ---- the steps of a card ---- */
	{"step.chip-serial", N_("chip serial")},
	{"step.holder", N_("choose the holder")},
	{"step.write", N_("PIN, PUK, key and certificate")},
	{"step.check", N_("read back and sign a challenge")},
	{"step.journal", N_("journal")},
	/* ---- a card that failed, and why ---- */
	{"card.unreadable", N_("the card cannot be read")},
	{"card.no-chip-serial", N_("the card gives no chip serial (no GlobalPlatform CPLC)")},
	{"card.no-profile", N_("no card profile fits this card")},
	{"card.journal-unknown", N_("the journal cannot say whether this card is known")},
	{"card.marked-lost", N_("this card was marked lost at the service desk (last seen {seen}): it is not written")},
	{"card.marked-returned", N_("this card was returned at the service desk (last seen {seen}): it is not written")},
	{"card.marked-retired", N_("this card is retired (last seen {seen}): it is never written again")},
	{"card.returned-never", N_("this card was returned at the service desk and its card profile does not re-use returned cards: it is retired now, untouched")},
	{"card.puk-blocked", N_("the card's PUK is blocked: no PIN can ever be set on it again, and it is retired")},
	{"card.not-blank", N_("the card is not blank (it has a PIN) and this station has no record of it")},
	{"card.journal-holds", N_("the journal cannot say what this card holds: it is not touched")},
	{"card.issued", N_("this card already holds the certificate of {holder}; it is not overwritten")},
	{"card.not-paired", N_("card {chip} is not in the pairing list")},
	{"card.not-paired-printed", N_("card {chip}, printed {printed}, is not in the pairing list")},
	{"card.no-record", N_("no record waits for this card")},
	{"card.claim-failed", N_("the journal could not give this card a holder")},
	{"card.taken-out", N_("the card was taken out before it was confirmed")},
	{"card.not-confirmed", N_("the operator did not confirm this card")},
	{"card.printed-mismatch", N_("this card is printed {journal} in the journal, not {printed}")},
	{"card.journal-failed", N_("the journal could not record this card")},
	{"card.key-type", N_("a {key} key does not go on a {profile} card")},
	{"card.no-secrets", N_("cannot make the card's PIN and PUK (locked memory)")},
	{"card.pin-unfit", N_("the PIN or PUK given at run start does not suit this card")},
	{"card.needs-puk", N_("the card already has a PIN; rewriting it needs the institution PUK")},
	{"card.needs-reinstall", N_("the card has a PIN but no PKCS#15 application")},
	{"card.unknown-puk", N_("a write that stopped halfway left a PUK on this card that was never shown")},
	{"card.write-failed", N_("the card could not be written")},
	{"card.check-failed", N_("the card did not pass its check")},
	{"card.pulled", N_("the card was pulled out while being written")},
	{"card.done", N_("written and checked")},
	/* ---- what to do next ---- */
	{"advice.reinsert", N_("take the card out and insert it again")},
	{"advice.other-model", N_("use a card of a supported model")},
	{"advice.add-profile", N_("add a card profile or name one with --profile")},
	{"advice.doctor", N_("take the card out; check the journal (cardstation doctor)")},
	{"advice.to-desk", N_("keep the card and hand it to the service desk")},
	{"advice.never-again", N_("set the card aside: it is not given out again")},
	{"advice.blank-or-reissue", N_("use a blank card, or a re-issue run")},
	{"advice.issued", N_("set the card aside: it belongs to its holder (a re-issue run rewrites it)")},
	{"advice.check-pairing", N_("take the card out; check that the pairing list names this card")},
	{"advice.queue-empty", N_("no one is left to encode on this kind of card: take the card out")},
	{"advice.remove", N_("take the card out")},
	{"advice.back-in-queue", N_("the holder is back in the queue")},
	{"advice.reprint", N_("check the card in the reader; if it was printed again, run encode with --reprint")},
	{"advice.restart-puk", N_("set the card aside; a run started with the institution PUK (--puk) can rewrite it")},
	{"advice.reinstall", N_("set the card aside: its applet must be reinstalled before it can be written")},
	{"advice.new-pin", N_("stop the run and start it again with a PIN and PUK that card profile {profile} takes")},
	{"advice.partial", N_("the card is set aside as partial; insert it again to redo it")},
	{"advice.retired", N_("set the card aside for good: it is never written again")},
	{"advice.retired-record", N_("set the card aside for good: it is retired, and its holder is back in the queue for the next card")},
	{"advice.record-aside", N_("the record is set aside; the next holder takes this card")},
	{"advice.record-back", N_("the record is back in the queue")},
	{"advice.import-again", N_("import the download again as a new run")},
	{"advice.stop-doctor", N_("stop the run and check the station (cardstation doctor)")},
	/* ---- a record of a download that cannot be used (cs_problem.h) ---- */
	{"problem.malformed-row", N_("a row of the index is malformed")},
	{"problem.bad-serial", N_("the certificate serial is not a number")},
	{"problem.duplicate-serial", N_("the serial is on two rows")},
	{"problem.p12-missing", N_("the PKCS#12 file is missing from the download")},
	{"problem.p12-orphan", N_("a PKCS#12 file has no row in the index")},
	{"problem.no-pin-row", N_("the access PIN list has no row for the record")},
	{"problem.no-index-row", N_("the access PIN list names a record the index does not have")},
	{"problem.name-mismatch", N_("the index and the access PIN list name different people")},
	{"problem.p12-unreadable", N_("the PKCS#12 file cannot be read")},
	{"problem.wrong-pin", N_("the access PIN does not open the PKCS#12 file")},
	{"problem.serial-mismatch", N_("the certificate's serial is not the index's")},
	{"problem.key-mismatch", N_("the key does not belong to the certificate")},
	{"problem.subject-mismatch", N_("the certificate's subject is not the index's")},
	{"problem.foreign-o", N_("the certificate belongs to another institution")},
	{"problem.smime-mail-mismatch", N_("the S/MIME certificate's mail is not the index's")},
	{"problem.expired", N_("the certificate has expired")},
	{"problem.not-yet-valid", N_("the certificate is not valid yet")},
	{"problem.p12-too-costly", N_("the PKCS#12 file's key derivation is over the work bound")},
	{"problem.key-unsupported", N_("no card profile takes this kind of key")},
	{"problem.live-elsewhere", N_("the certificate is on a card already")},
	{"problem.not-in-download", N_("the record is not in the run's download any more")},
	/* ---- a download refused as a whole (cs_bundle.c); the archive's or
	 * the text reader's words are the detail ---- */
	{"bundle.zip", N_("{file} cannot be used as a zip archive")},
	{"bundle.swapped", N_("the two archives are swapped: {certs} holds the PINs and {pins} the certificates; give the certificate archive (clientAll.zip) first")},
	{"bundle.no-index", N_("{file}: no {index} in it; is this the certificate archive (clientAll.zip)?")},
	{"bundle.no-pin-file", N_("{file}: no clientAllPin.txt or clientPin.txt in it; is this the PIN archive (clientAllPin.zip)?")},
	{"bundle.memlock", N_("cannot lock memory for the access PINs (raise RLIMIT_MEMLOCK)")},
	{"bundle.unreadable", N_("{archive}: {file} cannot be read")},
	{"bundle.too-many-rows", N_("{archive}: {file} has more rows than the limit of {limit} people (raise --max-entries)")},
	{"bundle.columns", N_("{archive}: {file} line {line}: {count} columns, expected {want}")},
	{"bundle.pin-long", N_("{archive}: {file} line {line}: the access PIN is too long")},
	{"bundle.pin-empty", N_("{archive}: {file} line {line}: the access PIN is empty")},
	{"bundle.text", N_("{archive}: {file} cannot be read to its end")},
	{"bundle.nomem", N_("out of memory")},
	/* ---- verify's reasons (cs_verify_judge.c) ---- */
	{"verify.card-unreadable", N_("the card cannot be read")},
	{"verify.unknown-model", N_("no card profile's applet answers on this card: not a card this station writes")},
	{"verify.no-pin", N_("the card has no PIN: it was never personalised (or the write stopped before the PIN)")},
	{"verify.pin-blocked", N_("the PIN is blocked: unblock it with the institution PUK")},
	{"verify.pin-mistyped", N_("the PIN was mistyped: {left} of {max} tries left")},
	{"verify.pin-refused", N_("the card refused the PIN")},
	{"verify.no-pkcs15", N_("the card has no PKCS#15 application: blank or wiped")},
	{"verify.pkcs15-unreadable", N_("OpenSC cannot read the card")},
	{"verify.no-certificate", N_("the card holds no certificate of its own")},
	{"verify.journal-unavailable", N_("the journal could not be read: card and certificates were not checked against it")},
	{"verify.no-chip-serial", N_("the card gives no chip serial: the journal cannot tell which card it is")},
	{"verify.card-unknown", N_("the journal has no card with chip serial {chip}: this station did not issue it")},
	{"verify.card-lost", N_("the journal has this card as lost: its certificates were revoked")},
	{"verify.card-wiped", N_("the journal has this card as returned or wiped ({state}), yet it holds a certificate")},
	{"verify.card-retired", N_("the journal has this card as retired: no station writes it again; give the holder another card")},
	{"verify.card-retired-live", N_("the journal has this card as retired, yet certificate {serial} is live on it: mark the card lost or returned so that the certificate is revoked")},
	{"verify.bound-cert-missing", N_("the journal bound certificate {serial} to this card, but the card does not hold it")},
	{"verify.cert-unreadable", N_("certificate object {id} is not a readable X.509 certificate")},
	{"verify.cert-not-yet-valid", N_("certificate {serial} is not valid before {date}")},
	{"verify.cert-expired", N_("certificate {serial} expired on {date}")},
	{"verify.cert-expires-soon", N_("certificate {serial} expires in {days} days ({date})")},
	{"verify.chain", N_("certificate {serial} does not chain to the CA")},
	{"verify.no-key", N_("certificate {serial} has no private key beside it on the card")},
	{"verify.cert-unknown", N_("certificate {serial} is not in the journal")},
	{"verify.not-bound-card", N_("not the card the journal bound to certificate {serial} ({holder}): that is card {chip}")},
	{"verify.cert-not-live", N_("the journal has certificate {serial} ({holder}) as {outcome}, on no card")},
	{"verify.dn-mismatch", N_("the subject of certificate {serial} is not the journal's DN for it ({dn})")},
	{"verify.key-mismatch", N_("certificate {serial}: the card's key does not match it")},
	{"verify.key-ok", N_("certificate {serial}: the card signed a fresh challenge ({mechanism}), verified with the certificate's key")},
	{"verify.several-holders", N_("the card holds certificates of two people: {serial} ({holder}) and {serial2} ({holder2})")},
	{"verify.chain-unchecked", N_("the chain to the CA was not checked: give --ca FILE")},
	{"verify.key-untested", N_("the key was not tested: no PIN given (--pin env:VAR or --pin-prompt)")},
	{"verify.use-yes", N_("{use}: yes ({why})")},
	{"verify.use-no", N_("{use}: no ({why})")},
	{"verify.use-unknown", N_("{use}: unknown ({why})")},
	{"use.nothing-to-judge", N_("no certificate or mechanism list to judge by")},
	{"use.no-key", N_("no private key on the card")},
	{"use.key-failed", N_("the key failed the signature check")},
	{"use.no-client-auth", N_("the certificate lacks clientAuth")},
	{"use.signatures", N_("{mechanism} signatures")},
	{"use.no-signature", N_("the card offers no {mechanism} signature")},
	{"use.tls13-no-pss", N_("TLS 1.3 needs RSA-PSS, which the card does not offer")},
	{"use.no-email-protection", N_("the certificate lacks emailProtection")},
	{"use.sign-works", N_("signatures work")},
	{"use.no-sign", N_("no usable signature mechanism")},
	{"use.ec-no-decrypt", N_("an EC key does not decrypt S/MIME (key agreement is not offered)")},
	{"use.decrypt", N_("RSA decryption")},
	{"use.no-decrypt", N_("the card offers no RSA decryption")},
	{"use.unknown", N_("unknown use")},
	/* ---- the service desk (cs_desk.c): lost, returned, PIN reset ---- */
	{"desk.name-one", N_("name the card by one of printed number, chip serial, holder or issuance")},
	{"desk.no-card-chip", N_("the journal has no card with chip serial {chip}")},
	{"desk.no-card-printed", N_("the journal has no card with printed number {printed}")},
	{"desk.issuance-not-live", N_("issuance {issuance} is not live on a card")},
	{"desk.holder-none", N_("no certificate of a holder named like '{holder}' is live on a card")},
	{"desk.holder-several", N_("'{holder}' fits several cards")},
	{"desk.journal-unreadable", N_("the journal cannot be read; nothing changed")},
	{"desk.journal-unusable", N_("the journal cannot be used; nothing changed")},
	{"desk.record-missing", N_("record {record} of certificate {serial} is missing")},
	{"desk.request-row", N_("certificate {serial}: the service would not take its revocation request line; nothing changed")},
	{"desk.request-needs", N_("a revocation request needs the administrator's mail and a reason code the service knows")},
	{"desk.cert-writing", N_("certificate {serial} is still being written to this card: stop that run first")},
	{"desk.nothing-live", N_("no certificate is live on that card (already lost, returned or never issued)")},
	{"desk.too-many", N_("more than {max} certificates are live on that card; nothing changed")},
	{"desk.name-too-long", N_("the file name is too long")},
	{"desk.file-write", N_("cannot write {file}")},
	{"desk.request-write", N_("cannot write the revocation request")},
	{"desk.lost-journal-refused", N_("the journal refused; nothing was marked")},
	{"desk.lost-rename", N_("the journal is marked but {tmp} cannot be renamed to {file}: rename it by hand")},
	{"desk.live-refuse", N_("certificate {serial} of {holder} is still live on this card. Request its revocation, or confirm that it is revoked already. Nothing changed")},
	{"desk.wipe-needs", N_("wiping a card needs its reader and the institution PUK")},
	{"desk.not-ours", N_("not a card this station writes, or it does not answer; nothing changed")},
	{"desk.card-identity", N_("the card does not say which card it is; nothing changed")},
	{"desk.card-unreadable", N_("the card cannot be read; nothing changed")},
	{"desk.no-profile", N_("card profile {profile} cannot be read; nothing changed")},
	{"desk.pin-rules", N_("the new PIN does not suit card profile {profile}; nothing changed")},
	{"desk.puk-rules", N_("the PUK does not suit card profile {profile}; nothing changed")},
	{"desk.no-random-pin", N_("no random PIN could be made; nothing changed")},
	{"desk.other-card", N_("another card is in the reader now (chip {chip}) than the one checked; nothing changed")},
	{"desk.puk-wrong", N_("Wrong PUK. {tries} tries left before the PUK is blocked; nothing changed")},
	{"desk.puk-blocked", N_("Wrong PUK. The PUK is now blocked: this card's PIN can never be reset nor the card wiped; nothing changed")},
	{"desk.card-refused", N_("the card refused; nothing changed")},
	{"desk.wipe-no-answer", N_("the card writer gave no answer: the card may be wiped in part; do not hand it out, run the return again")},
	{"desk.wipe-keys-failed", N_("the PIN was reset, but a previous holder's key may still be on the card: do not hand it out; its applet must be reinstalled")},
	{"desk.wipe-erase-failed", N_("the card's PKCS#15 application could not be erased: do not hand it out, run the return again")},
	{"desk.wipe-erase-failed-after-keys", N_("the PIN was reset and the keys overwritten, but the card's PKCS#15 application could not be erased: do not hand it out, run the return again")},
	{"desk.wiped-request-write", N_("the card is wiped but the revocation request cannot be written; the journal is unchanged")},
	{"desk.wiped-journal-refused", N_("the card is wiped but the journal refused")},
	{"desk.cert-became-live", N_("the card is wiped, but certificate {serial} became live on this card meanwhile: run the return again to decide on it")},
	{"desk.cert-no-longer-live", N_("the card is wiped, but certificate {serial} is no longer live in the journal (marked by someone else meanwhile): run the return again")},
	{"desk.wiped-rename", N_("the card is wiped and journaled but {tmp} cannot be renamed to {file}: rename it by hand")},
	{"desk.pin-needs", N_("a PIN reset needs the card's reader and the institution PUK")},
	{"desk.card-unknown", N_("the journal does not know this card (chip {chip}): it was not issued here. Nothing changed")},
	{"desk.card-unknown-no-chip", N_("the journal does not know this card (it gives no chip serial): it was not issued here. Nothing changed")},
	{"desk.pin-card-lost", N_("this card is marked lost and its certificate revoked. Do not reset its PIN; issue a new card. Nothing changed")},
	{"desk.pin-card-returned", N_("this card was returned and wiped; it has no holder. Nothing changed")},
	/* {state} and {outcome}: a state.card.* or state.outcome.* code. */
	{"desk.pin-card-state", N_("this card is '{state}' in the journal, not issued. Nothing changed")},
	{"desk.pin-no-pin", N_("the card has no PIN yet: it was never issued. Nothing changed")},
	{"desk.pin-cert-unreadable", N_("the card's certificate cannot be read. Nothing changed")},
	{"desk.pin-cert-elsewhere", N_("certificate {serial} on this card is live on another card ({chip}) in the journal. Nothing changed")},
	{"desk.pin-cert-not-live", N_("certificate {serial} on this card is not live in the journal ({outcome}). Nothing changed")},
	{"desk.pin-cert-unknown", N_("certificate {serial} on this card is not in the journal. Nothing changed")},
	{"desk.pin-two-holders", N_("this card holds certificates of {holder} and {holder2}. Nothing changed")},
	{"desk.pin-cert-missing", N_("the journal has certificate {serial} on this card, but the card does not hold it. Nothing changed")},
	{"desk.pin-no-cert", N_("the card holds no certificate of its holder. Nothing changed")},
	{"desk.pin-no-answer", N_("the card writer gave no answer: the PIN may or may not have been reset; check the card and try again")},
	{"desk.pin-unjournaled", N_("the PIN was reset, but the journal refused the note")},
	/* The desk's notes in the journal (a record: code and English; the
	 * front ends tell them again with cs_record_text). */
	{"note.lost", N_("card lost: revocation requested, reason {reason} {reason_name}")},
	{"note.lost-unconfirmed", N_("card lost before its first write was confirmed")},
	{"note.returned", N_("card returned")},
	{"note.returned-request", N_("card returned: revocation requested, reason {reason} {reason_name}")},
	{"note.returned-revoked", N_("card returned: certificate revoked already (the operator's word)")},
	{"advice.desk-no-request", N_("no request was written")},
	{"advice.desk-do-not-send", N_("do not send the request above")},
	/* ---- the journal's words for states (cs_journal.h), shown by the
	 * front ends; the journal and JSON keep the English word ---- */
	{"state.run.open", N_("open")},
	{"state.run.done", N_("done")},
	{"state.run.cancelled", N_("cancelled")},
	{"state.record.refused", N_("refused")},
	{"state.record.queued", N_("queued")},
	{"state.record.claimed", N_("claimed")},
	{"state.record.done", N_("done")},
	{"state.record.revoked", N_("revoked")},
	{"state.card.blank", N_("blank")},
	{"state.card.partial", N_("partial")},
	{"state.card.issued", N_("issued")},
	{"state.card.wiped", N_("wiped")},
	{"state.card.lost", N_("lost")},
	{"state.card.returned", N_("returned")},
	{"state.card.retired", N_("retired")},
	{"state.outcome.writing", N_("writing")},
	{"state.outcome.verified", N_("verified")},
	{"state.outcome.failed", N_("failed")},
	{"state.outcome.interrupted", N_("interrupted")},
	{"state.outcome.wiped", N_("wiped")},
	{"state.outcome.revoked", N_("revoked")},
	{"state.outcome.superseded", N_("superseded")},
	/* ---- doctor's findings (cs_doctor.c, doctor/) ---- */
	{"doctor.clock.before-build", N_("the system clock says {now}, before this program was built ({built})")},
	{"doctor.clock.far-future", N_("the system clock says {now}, more than 15 years after this program was built ({built})")},
	{"doctor.clock.ok", N_("system clock {now}")},
	{"doctor.clock.not-synced", N_("the kernel reports the clock as not synchronised (no NTP)")},
	{"doctor.journal.statvfs-failed", N_("cannot look at the filesystem of {journal}: {detail}")},
	{"doctor.journal.read-only", N_("the journal {journal} is on a read-only filesystem ({dir})")},
	{"doctor.journal.disk-full", N_("only {free} MiB free for the journal {journal} (filesystem of {dir})")},
	{"doctor.journal.disk-low", N_("{free} MiB free of {total} MiB for the journal {journal}")},
	{"doctor.journal.space", N_("{free} GiB free of {total} GiB for the journal {journal}")},
	{"doctor.journal.no-dir", N_("the journal's directory {dir} does not exist yet")},
	{"doctor.journal.not-writable", N_("this user cannot write in {dir}")},
	{"doctor.journal.size", N_("journal {journal} holds {size} MiB")},
	{"doctor.journal-server.no-clock", N_("cannot read the journal server's clock: {detail}")},
	{"doctor.journal-server.clock-behind", N_("this station's clock is {seconds} s behind the journal server's")},
	{"doctor.journal-server.clock-ahead", N_("this station's clock is {seconds} s ahead of the journal server's")},
	{"doctor.journal-server.clock-ok", N_("clocks agree with the journal server within {seconds} s (round trip {ms} ms)")},
	{"doctor.journal-server.cannot-open", N_("the journal server cannot be used: {detail}")},
	{"doctor.journal-server.answers", N_("the journal server answers (PostgreSQL {version})")},
	{"doctor.journal-server.no-journal", N_("the database holds no journal: {detail}")},
	{"doctor.journal-server.schema-mismatch", N_("the journal has schema version {version}; this cardstation knows {known}")},
	{"doctor.journal-server.schema", N_("journal schema version {version}")},
	{"doctor.opensc.missing", N_("OpenSC's opensc-tool ({path}) cannot be run")},
	{"doctor.opensc.version", N_("OpenSC {version}")},
	{"doctor.opensc.no-profiles", N_("no cardprofiles directory at {dir}")},
	{"doctor.opensc.no-driver", N_("OpenSC knows no driver for the card in '{reader}'")},
	{"doctor.opensc.no-profile", N_("card in '{reader}': OpenSC driver {driver} ('{name}'); no cardprofile names this driver")},
	{"doctor.opensc.card", N_("card in '{reader}': OpenSC driver {driver} ('{name}'), cardprofile {profile}")},
	{"doctor.pcscd.not-running", N_("pcscd is not running and its socket {socket} does not exist ({detail})")},
	{"doctor.pcscd.no-answer", N_("pcscd does not answer on {socket} ({detail})")},
	{"doctor.pcscd.running", N_("pcscd {version} running (pid {pid}, user {user}), socket {socket}")},
	{"doctor.pcscd.answers", N_("pcscd {version} answers on {socket}")},
	{"doctor.readers.cannot-list", N_("cannot list PC/SC readers")},
	{"doctor.readers.none", N_("PC/SC sees no reader")},
	{"doctor.readers.gone", N_("reader {index} '{reader}' went away while looking")},
	{"doctor.readers.empty", N_("reader {index} '{reader}' (--reader {spec}): no card")},
	{"doctor.readers.mute-card", N_("reader {index} '{reader}': a card is in but does not answer")},
	{"doctor.readers.card", N_("reader {index} '{reader}' (--reader {spec}): card present, ATR {atr}")},
	{"doctor.readers.exclusive", N_("reader {index} '{reader}': another process holds the card exclusively")},
	{"doctor.readers.exclusive-by", N_("reader {index} '{reader}': another process holds the card exclusively; PC/SC clients running: {holders}")},
	{"doctor.readers.cannot-connect", N_("reader {index} '{reader}': cannot connect to the card ({detail})")},
	{"doctor.readers.same-name", N_("{count} readers are called '{model}' and have no serial number: only their index tells them apart")},
	{"doctor.setup.udev", N_("cardstation's udev rules are installed in {dir}")},
	{"doctor.setup.udev-local", N_("cardstation's udev rules are in /usr/local/lib/udev/rules.d, where udev does not read them")},
	{"doctor.setup.no-udev", N_("cardstation's udev rules (70-cardstation.rules) are not installed")},
	{"doctor.setup.no-group", N_("the group '{group}' that the udev and polkit rules grant does not exist")},
	{"doctor.setup.group", N_("group '{group}' exists")},
	{"doctor.usb.served", N_("USB reader {usb} is served by pcscd as '{reader}'")},
	{"doctor.usb.no-driver", N_("USB smart-card reader {usb} has no PC/SC driver: the Info.plist of no installed driver ({bundles}) lists {id}")},
	{"doctor.usb.no-access", N_("USB reader {usb}: pcscd (user {user}) may not open {node} (mode {mode}, group {group})")},
	{"doctor.usb.not-shown", N_("USB reader {usb} has a driver ({bundle} {version}, '{name}') but pcscd does not show it")},
	{"doctor.usb.no-reader", N_("no USB smart-card reader is plugged in ({others} other USB device(s))")},
	{"doctor.usb.others", N_("{others} other USB device(s) (not smart-card readers)")},
	{"doctor.usb.no-drivers", N_("no PC/SC driver is installed in {dir}")},
	{"doctor.usb.cannot-list", N_("the USB devices cannot be listed: {detail}")},
	/* ---- what to do about a doctor's finding (doctor/) ---- */
	{"todo.clock.set", N_("set the clock: `timedatectl set-ntp true` with network access, or `timedatectl set-time`; certificate validity checks are wrong until then")},
	{"todo.clock.check", N_("check the clock (`timedatectl`); a wrong date makes valid certificates look expired")},
	{"todo.clock.ntp", N_("if the station has network, enable time sync: `timedatectl set-ntp true`")},
	{"todo.journal.local-disk", N_("give --journal a path on a local, writable disk")},
	{"todo.journal.writable", N_("put the journal on a writable disk (--journal PATH) or remount it read-write")},
	{"todo.journal.free-now", N_("free disk space: the journal must never fail a write in the middle of a card")},
	{"todo.journal.free-soon", N_("free disk space before a large run")},
	{"todo.journal.create-dir", N_("create it for the kiosk user, e.g. `install -d -o kiosk -g cardstation -m 0750 {dir}`")},
	{"todo.journal.owner", N_("run as the kiosk user, or give that user the directory (chown/chmod)")},
	{"todo.journal-server.select", N_("check that the role may run SELECT")},
	{"todo.journal-server.ntp", N_("synchronise both clocks with NTP (`timedatectl set-ntp true`): every station stamps its events with its own clock")},
	{"todo.journal-server.uri", N_("correct the journal's URI (docs/postgresql.md)")},
	{"todo.journal-server.reach", N_("start the server or reach it: check the URI's host and database, pg_hba.conf, the role, and ~/.pgpass or the client certificate")},
	{"todo.journal-server.init", N_("create it: `cardstation journal init --journal URI` as the owning role, or copy a SQLite journal with `cardstation journal migrate`")},
	{"todo.journal-server.newer", N_("use the cardstation that wrote it, or a newer one, on every station")},
	{"todo.journal-server.upgrade", N_("upgrade the schema with the cardstation that made it before this one writes")},
	{"todo.opensc.install", N_("install OpenSC: `apt install opensc opensc-pkcs11`")},
	{"todo.opensc.profiles", N_("install cardstation completely, or give --profiles DIR")},
	{"todo.opensc.unsupported", N_("this card model is not supported: use cards of a supported model (see cardprofiles/)")},
	{"todo.opensc.add-profile", N_("cardstation cannot encode this card model yet: use a supported card, or add a cardprofile with `driver = {driver}`")},
	{"todo.pcscd.install", N_("install it: `apt install pcscd libccid`")},
	{"todo.pcscd.start", N_("start it: `systemctl enable --now pcscd.socket`")},
	{"todo.pcscd.restart", N_("restart it: `systemctl restart pcscd.socket pcscd.service`; see `journalctl -u pcscd`")},
	{"todo.pcscd.restart-readers", N_("restart pcscd: `systemctl restart pcscd`")},
	{"todo.readers.plug", N_("plug in a reader; if one is plugged in, the usb findings say why pcscd does not use it")},
	{"todo.readers.turn-card", N_("turn the card round (chip first, facing up) or try another card")},
	{"todo.readers.close-holder", N_("close that program; for gpg's scdaemon: `gpgconf --kill scdaemon` and put `pcsc-shared` (or `disable-ccid`) in ~/.gnupg/scdaemon.conf of that user")},
	{"todo.readers.reinsert", N_("take the card out and put it in again; if it persists, the card may be broken")},
	{"todo.readers.same-socket", N_("keep each in the same USB socket and choose them with --reader usb:BUS-PORT")},
	{"todo.setup.udev-prefix", N_("reinstall with -DCMAKE_INSTALL_PREFIX=/usr or copy the files to /etc/udev/rules.d, then `udevadm control --reload && udevadm trigger`")},
	{"todo.setup.udev-install", N_("install them (`cmake --install`, prefix /usr) and run `udevadm control --reload && udevadm trigger`; see docs/kiosk-setup.md")},
	{"todo.setup.group", N_("`groupadd --system {group}` and add the kiosk user to it (`usermod -aG {group} kiosk`)")},
	{"todo.usb.unsupported", N_("this model is not in the installed CCID driver's list: use a supported reader, a newer libccid, or the vendor's PC/SC driver")},
	{"todo.usb.udev", N_("install cardstation's udev rules and run `udevadm trigger`, or replug the reader")},
	{"todo.usb.start-pcscd", N_("start pcscd (`systemctl start pcscd.socket`) and run doctor again")},
	{"todo.usb.replug", N_("replug the reader or run `pcscd --hotplug`; if it stays away, see `journalctl -u pcscd` for why the driver refused it")},
	{"todo.usb.ccid", N_("install the CCID driver: `apt install libccid`")},
};

const cs_code_def *cs_code_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

const char *cs_code_source(const char *code)
{
	const char *text, *c;

	if (code == NULL)
		return NULL;
	/* The error classes' codes are cs_err.c's own. */
	for (size_t i = 0; (text = cs_err_source(i, &c)) != NULL; i++)
		if (strcmp(c, code) == 0)
			return text;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].code, code) == 0)
			return table[i].text;
	return NULL;
}

/* ---- packed parameters ---- */

static void put_clean(char *out, size_t n, size_t *at, const char *s)
{
	for (; *s != '\0' && *at + 1 < n; s++)
		out[(*at)++] = *s == '\t' || *s == '\n' || *s == '\r' ||
		    *s == CS_PARAM_SEP || *s == '\036' ? ' ' : *s;
	out[*at] = '\0';
}

void cs_params_add(char *params, size_t n, const char *name,
    const char *value)
{
	size_t at = strlen(params);

	if (name == NULL || value == NULL || at + strlen(name) + 2 >= n)
		return;
	if (at > 0)
		params[at++] = CS_PARAM_SEP;
	params[at] = '\0';
	put_clean(params, n, &at, name);
	if (at + 1 < n)
		params[at++] = '=';
	params[at] = '\0';
	put_clean(params, n, &at, value);
}

void cs_params_vpack(char *out, size_t n, va_list ap)
{
	const char *name;

	if (n == 0)
		return;
	out[0] = '\0';
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);

		cs_params_add(out, n, name, value);
	}
}

void cs_params_pack(char *out, size_t n, ...)
{
	va_list ap;

	va_start(ap, n);
	cs_params_vpack(out, n, ap);
	va_end(ap);
}

/* Walk the pairs: fn(name, namelen, value, valuelen). */
static void each_param(const char *params,
    void (*fn)(void *, const char *, size_t, const char *, size_t), void *ctx)
{
	const char *p = params;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, CS_PARAM_SEP);
		const char *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);

		eq = memchr(p, '=', len);
		if (eq != NULL)
			fn(ctx, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1);
		p = end ? end + 1 : NULL;
	}
}

struct find { const char *name; char *buf; size_t n; int found; };

static void find_one(void *ctx, const char *k, size_t kl, const char *v,
    size_t vl)
{
	struct find *f = ctx;

	if (!f->found && strlen(f->name) == kl && memcmp(f->name, k, kl) == 0) {
		snprintf(f->buf, f->n, "%.*s", (int)vl, v);
		f->found = 1;
	}
}

const char *cs_params_get(const char *params, const char *name, char *buf,
    size_t n)
{
	struct find f = {name, buf, n, 0};

	if (n == 0)
		return NULL;
	buf[0] = '\0';
	each_param(params, find_one, &f);
	return f.found ? buf : NULL;
}

const char *cs_problem_code(cs_problem p)
{
	char code[64];

	snprintf(code, sizeof(code), "problem.%s", cs_problem_name(p));
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].code, code) == 0)
			return table[i].code;
	return "problem.unknown";
}

static char *render(const char *code, const char *params, char *out,
    size_t n, int translate)
{
	const char *src = cs_code_source(code), *t;
	size_t at = 0;

	if (n == 0)
		return out;
	out[0] = '\0';
	if (src == NULL) {
		snprintf(out, n, "%s", code ? code : "");
		return out;
	}
	for (t = translate ? _(src) : src; *t != '\0' && at + 1 < n;) {
		const char *close;
		char name[32], value[CS_PARAMS_MAX];

		if (*t == '{' && (close = strchr(t, '}')) != NULL &&
		    (size_t)(close - t) < sizeof(name)) {
			snprintf(name, sizeof(name), "%.*s", (int)(close - t - 1), t + 1);
			if (cs_params_get(params, name, value, sizeof(value)) == NULL)
				snprintf(value, sizeof(value), "?");
			/* A journal state word travels as its code
			 * (state.card.partial): told in the text's language. */
			else if (strncmp(value, "state.", 6) == 0 &&
			    cs_code_source(value) != NULL) {
				char word[128];

				render(value, NULL, word, sizeof(word), translate);
				snprintf(value, sizeof(value), "%s", word);
			}
			put_clean(out, n, &at, value);
			t = close + 1;
			continue;
		}
		out[at++] = *t++;
	}
	out[at] = '\0';
	return out;
}

char *cs_code_text(const char *code, const char *params, char *out, size_t n)
{
	return render(code, params, out, n, 1);
}

char *cs_say(char *out, size_t n, const char *code, ...)
{
	char params[CS_PARAMS_MAX];
	va_list ap;

	va_start(ap, code);
	cs_params_vpack(params, sizeof(params), ap);
	va_end(ap);
	return cs_code_text(code, params, out, n);
}

char *cs_state_text(const char *kind, const char *word, char *out, size_t n)
{
	char code[64];

	snprintf(code, sizeof(code), "state.%s.%s", kind, word ? word : "");
	if (word == NULL || cs_code_source(code) == NULL) {
		snprintf(out, n, "%s", word ? word : "");
		return out;
	}
	return cs_code_text(code, NULL, out, n);
}

const char *cs_state_code(const char *kind, const char *word, char *buf,
    size_t n)
{
	if (word == NULL)
		return NULL;
	snprintf(buf, n, "state.%s.%s", kind, word);
	return cs_code_source(buf) != NULL ? buf : word;
}

struct json_ctx { FILE *f; int first; };

static void json_one(void *ctx, const char *k, size_t kl, const char *v,
    size_t vl)
{
	struct json_ctx *c = ctx;
	char key[64], value[CS_PARAMS_MAX];

	snprintf(key, sizeof(key), "%.*s", (int)kl, k);
	snprintf(value, sizeof(value), "%.*s", (int)vl, v);
	cs_json_kv(c->f, c->first, key, value);
	c->first = 0;
}

void cs_params_json_object(FILE *f, const char *params)
{
	struct json_ctx c = {f, 1};

	fputc('{', f);
	each_param(params, json_one, &c);
	fputc('}', f);
}

void cs_params_json(FILE *f, const char *params)
{
	fputs("\"params\":", f);
	cs_params_json_object(f, params);
}

/* ---- messages ---- */

void cs_msg_set(cs_msg *m, const char *code, ...)
{
	va_list ap;

	memset(m, 0, sizeof(*m));
	m->code = code;
	va_start(ap, code);
	cs_params_vpack(m->params, sizeof(m->params), ap);
	va_end(ap);
}

static char *compose(const char *code, const char *params, const char *advice,
    const char *detail, char *out, size_t n, int translate)
{
	char text[1024], adv[512];
	int len;

	render(code, params, text, sizeof(text), translate);
	len = snprintf(out, n, "%s", text);
	/* TRANSLATORS: another program's own words after our sentence. */
	if (detail != NULL && *detail != '\0' && len >= 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, translate ? _(" (%s)") :
		    " (%s)", detail);
	/* TRANSLATORS: what to do next, after what happened. */
	if (advice != NULL && len >= 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, translate ? _(" - %s") :
		    " - %s", render(advice, params, adv, sizeof(adv), translate));
	return out;
}

char *cs_msg_text(const cs_msg *m, char *out, size_t n)
{
	return compose(m->code, m->params, m->advice, m->detail, out, n, 1);
}

char *cs_msg_record(const cs_msg *m, char *out, size_t n)
{
	char text[1024];
	int len = snprintf(out, n, "%s: ", m->code ? m->code : "?");

	if (len >= 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, "%s", compose(m->code,
		    m->params, m->advice, m->detail, text, sizeof(text), 0));
	return out;
}

/* ---- a journal record read back ---- */

struct rmatch {
	char params[CS_PARAMS_MAX];
	const char *rest;    /* what follows the text: detail and advice */
};

/* Does s start with the text of template t (source language)? Each
 * {name} takes the shortest value that lets the rest fit (ending where
 * the template's next character is), and what follows the text must be
 * a suffix ok() takes. Depth-first, as short templates of a few
 * parameters are. */
static int match_tpl(const char *t, const char *s, struct rmatch *rm,
    int (*ok)(const char *suffix, const char *params, void *), void *ctx)
{
	for (;;) {
		const char *close;

		if (*t == '\0')
			return ok(s, rm->params, ctx) ? (rm->rest = s, 1) : 0;
		if (*t == '{' && (close = strchr(t, '}')) != NULL &&
		    close - t < 32) {
			char name[32], value[CS_PARAMS_MAX], saved[CS_PARAMS_MAX];
			size_t len = strlen(s);

			snprintf(name, sizeof(name), "%.*s", (int)(close - t - 1),
			    t + 1);
			memcpy(saved, rm->params, sizeof(saved));
			for (size_t k = 1; k <= len && k < sizeof(value); k++) {
				if (close[1] != '\0' && close[1] != '{' &&
				    s[k] != close[1])
					continue;
				snprintf(value, sizeof(value), "%.*s", (int)k, s);
				cs_params_add(rm->params, sizeof(rm->params), name,
				    value);
				if (match_tpl(close + 1, s + k, rm, ok, ctx))
					return 1;
				memcpy(rm->params, saved, sizeof(saved));
			}
			return 0;
		}
		if (*t != *s)
			return 0;
		t++;
		s++;
	}
}

struct suffix { const char *advice; char detail[1024]; };

/* "" or " (detail)", then " - " and an advice code's text with the same
 * parameters, or nothing. */
static int suffix_ok(const char *s, const char *params, void *ctx)
{
	struct suffix *x = ctx;
	size_t len = strlen(s), n;
	const cs_code_def *t = table;
	char adv[512];

	x->advice = NULL;
	x->detail[0] = '\0';
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]) && len > 3; i++) {
		size_t al;

		if (strncmp(t[i].code, "advice.", 7) != 0)
			continue;
		render(t[i].code, params, adv, sizeof(adv), 0);
		al = strlen(adv);
		if (al + 3 <= len && strcmp(s + len - al, adv) == 0 &&
		    strncmp(s + len - al - 3, " - ", 3) == 0) {
			x->advice = t[i].code;
			len -= al + 3;
			break;
		}
	}
	if (len == 0)
		return 1;
	if (len < 3 || strncmp(s, " (", 2) != 0 || s[len - 1] != ')')
		return 0;
	n = len - 3;
	if (n >= sizeof(x->detail))
		return 0;
	snprintf(x->detail, sizeof(x->detail), "%.*s", (int)n, s + 2);
	return 1;
}

char *cs_record_text(const char *record, char *out, size_t n)
{
	const char *sep, *src;
	char code[64];
	struct rmatch rm;
	struct suffix sx;
	cs_msg m;
	size_t cl;

	if (n == 0)
		return out;
	snprintf(out, n, "%s", record ? record : "");
	if (record == NULL || (sep = strstr(record, ": ")) == NULL)
		return out;
	cl = (size_t)(sep - record);
	if (cl == 0 || cl >= sizeof(code) || strspn(record,
	    "abcdefghijklmnopqrstuvwxyz0123456789.-") != cl ||
	    memchr(record, '.', cl) == NULL)
		return out;
	snprintf(code, sizeof(code), "%.*s", (int)cl, record);
	if ((src = cs_code_source(code)) == NULL)
		return out;
	memset(&rm, 0, sizeof(rm));
	if (!match_tpl(src, sep + 2, &rm, suffix_ok, &sx))
		return out;
	memset(&m, 0, sizeof(m));
	m.code = code;
	m.advice = sx.advice;
	snprintf(m.params, sizeof(m.params), "%s", rm.params);
	snprintf(m.detail, sizeof(m.detail), "%s", sx.detail);
	return cs_msg_text(&m, out, n);
}

void cs_msg_json(FILE *f, const cs_msg *m)
{
	char buf[2048];

	cs_json_kv(f, 1, "code", m->code);
	fputc(',', f);
	cs_params_json(f, m->params);
	cs_json_kv(f, 0, "advice", m->advice);
	cs_json_kv(f, 0, "detail", m->detail[0] ? m->detail : NULL);
	cs_json_kv(f, 0, "text", compose(m->code, m->params, m->advice,
	    m->detail, buf, sizeof(buf), 1));
}
