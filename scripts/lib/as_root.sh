# Sourced first by the README's scripts, which need root (apt-get, taps, hugepages): as root they just go on;
# otherwise they run themselves again under sudo when sudo exists, or say how to run them (a fresh Debian 12
# where the user is root has no sudo).
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo bash "$(readlink -f "$0")" "$@"
  fi
  echo "$(basename "$0"): needs root (apt-get, tap interfaces, hugepages) and sudo is not installed: run" \
       "'su -c \"bash $0\"' or log in as root" >&2
  exit 1
fi
