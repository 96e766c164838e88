#!/bin/sh
# exmail-relay postremove (.deb postrm and .rpm %postun alike): systemd
# forgets the removed unit. The database in /var/lib/exmail-relay
# (/var/lib/private/exmail-relay) and the files an administrator put in
# /etc/exmail-relay are left alone.
set -e

if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null 2>&1 || true
fi
exit 0
