# Shared by tuning/check and tuning/irq-affinity (source it). Read-only helpers: CPU lists and
# the interrupts of network interfaces.

# expand_cpus LIST: "0-2,5" -> "0 1 2 5" on stdout. Returns 1 (printing nothing) when LIST
# is not a CPU list (the kernel's cpulist syntax without strides).
expand_cpus() {
  local list=$1 part lo hi c out=() parts=()
  [[ "$list" =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] || return 1
  IFS=, read -r -a parts <<<"$list"
  for part in "${parts[@]}"; do
    lo=${part%-*}
    hi=${part#*-}
    [ "$((10#$lo))" -le "$((10#$hi))" ] || return 1
    [ "$((10#$hi))" -lt 8192 ] || return 1
    for ((c = 10#$lo; c <= 10#$hi; c++)); do out+=("$c"); done
  done
  echo "${out[*]}"
}

# online_cpus: the online CPUs, expanded.
online_cpus() {
  expand_cpus "$(cat /sys/devices/system/cpu/online)"
}

# join_cpus "0 1 2 5" -> "0-2,5" (sorted, unique).
join_cpus() {
  local c prev="" start="" out=""
  for c in $(printf '%s\n' $1 | sort -n -u); do
    if [ -n "$prev" ] && [ "$c" -eq $((prev + 1)) ]; then
      prev=$c
      continue
    fi
    [ -n "$start" ] && out+="${out:+,}$(span "$start" "$prev")"
    start=$c
    prev=$c
  done
  [ -n "$start" ] && out+="${out:+,}$(span "$start" "$prev")"
  echo "$out"
}
span() { if [ "$1" -eq "$2" ]; then echo "$1"; else echo "$1-$2"; fi; }

# cpus_overlap "A" "B": true when the expanded lists share a CPU.
cpus_overlap() {
  local a b
  for a in $1; do
    for b in $2; do [ "$a" -eq "$b" ] && return 0; done
  done
  return 1
}

# nic_irqs: one line "IRQ IFACE NAME" per interrupt of a physical network interface (found
# through its device's MSI/MSI-X vectors, or its legacy irq line); virtual interfaces (lo,
# bridges, veth, ifb) have none.
nic_irqs() {
  local netdev iface dev pci irq name
  for netdev in /sys/class/net/*; do
    iface=${netdev##*/}
    [ -e "$netdev/device" ] || continue
    dev=$(readlink -f "$netdev/device")
    # virtio-net: the PCI function holding the vectors is the device's parent.
    pci=$dev
    while [ "$pci" != / ] && [ ! -d "$pci/msi_irqs" ]; do pci=$(dirname "$pci"); done
    if [ -d "$pci/msi_irqs" ]; then
      for irq in $(ls "$pci/msi_irqs" | sort -n); do
        name=$(awk -v irq="$irq:" '$1 == irq {print $NF}' /proc/interrupts)
        echo "$irq $iface ${name:-?}"
      done
    elif [ -r "$dev/irq" ] && [ "$(cat "$dev/irq")" != 0 ]; then
      irq=$(cat "$dev/irq")
      name=$(awk -v irq="$irq:" '$1 == irq {print $NF}' /proc/interrupts)
      echo "$irq $iface ${name:-?}"
    fi
  done
}
