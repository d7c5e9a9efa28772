package inventory

// Behaviour is what the sandbox observed while installing and running an installer.
type Behaviour struct {
	Ran bool `json:"ran"`
	// Reason says why the sandbox did not run, or what limited it (timeout, static only).
	Reason     string      `json:"reason,omitempty"`
	Network    []NetEvent  `json:"network"`
	DLLLoads   []DLLLoad   `json:"dll_loads"`
	Processes  []Process   `json:"processes"`
	FileWrites []FileWrite `json:"file_writes"`
	// Registry holds the values the install and the runs added or changed in wine's registry
	// (system.reg, user.reg), each once, from the first phase that showed it.
	Registry []RegistryValue `json:"registry,omitempty"`
	// ClockOffsets are the wall-clock offsets, in seconds, the programs were run again at
	// (time travel; the first run is offset 0 and not listed).
	ClockOffsets []int64 `json:"clock_offsets,omitempty"`
	// Programs are the programs started after the install, why, and for how long each was
	// let run in all (its first run plus one rerun per clock offset).
	Programs []ProgramRun `json:"programs,omitempty"`
	// DiskCap is how the guest's writable layer was bounded (absent when the sandbox did not
	// run).
	DiskCap *DiskCap `json:"disk_cap,omitempty"`
}

// DiskCap is the bound on what the guest may write. Past Bytes the run is inconclusive.
type DiskCap struct {
	// Bytes is the cap: the installer copied in plus the guest's allowance.
	Bytes int64 `json:"bytes"`
	// Quota is true when the engine accepted a hard quota on the writable layer (its storage
	// driver has one: btrfs, zfs, overlay2 on xfs with pquota); false when it refused, and
	// only rollgate watched the layer's size. Either way rollgate's watchdog kills the guest
	// past the cap (a burst between two looks may overshoot it; RLIMIT_FSIZE still bounds
	// every file).
	Quota bool `json:"quota"`
	// NoQuota is what the engine answered when asked for the quota, when it refused.
	NoQuota string `json:"no_quota,omitempty"`
}

// ProgramRun is one program the sandbox started after the install.
type ProgramRun struct {
	Path string `json:"path"` // Windows path in the guest
	// Reason is what points at it: shortcut, service, autostart or installed executable.
	Reason string `json:"reason"`
	// Seconds is the real time it was allowed in all; it may have exited sooner.
	Seconds int64 `json:"seconds"`
}

// ClockOffset, on an observation, is how far (in seconds) the guest's wall clock had been
// moved forward when the sandbox first saw it: 0 for the install and the first run of the
// programs, else one of Behaviour.ClockOffsets. It names the rerun that revealed a dormant
// behaviour (a beacon that waits for a week shows at 691200, +8 days).

// RegistryValue is one registry value the guest added or changed.
type RegistryValue struct {
	// Key is the full key path with its hive spelled out, e.g.
	// `HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run`.
	Key string `json:"key"`
	// Name is the value's name; "" is the key's default value.
	Name string `json:"name"`
	// Value is the data as wine's .reg text writes it (str:"…", dword:…, hex(…):…), capped.
	Value string `json:"value"`
	// Kind is added or changed (relative to the phase before).
	Kind string `json:"kind"`
	// Phase is install (during the install) or run (while the programs ran).
	Phase       string `json:"phase"`
	ClockOffset int64  `json:"clock_offset,omitempty"`
}

// NetEvent is one network attempt the sinkhole answered.
type NetEvent struct {
	// MS is the time since the sinkhole started (just before the guest), in milliseconds;
	// baselines drop it.
	MS    int64  `json:"ms"`
	Proto string `json:"proto"` // dns, tcp, udp, icmp
	// Name is the DNS query name, or for a connection or datagram the name whose answer from
	// the sinkhole's own DNS was the destination address; never the SNI or Host a program
	// sends (those are claims, kept in SNI and Host). Empty for a raw address.
	Name  string `json:"name,omitempty"`
	Addr  string `json:"addr,omitempty"`  // destination address
	Port  int    `json:"port,omitempty"`  // destination port
	QType string `json:"qtype,omitempty"` // DNS query type
	SNI   string `json:"sni,omitempty"`
	HTTP  string `json:"http,omitempty"` // request line
	Host  string `json:"host,omitempty"` // HTTP Host header
	// Bytes is a datagram's payload length (UDP).
	Bytes int `json:"bytes,omitempty"`
	// ClockOffset is the guest's clock offset (seconds) when this was seen; see ClockOffset.
	ClockOffset int64 `json:"clock_offset,omitempty"`
}

// DLLLoad is one module a process loaded.
type DLLLoad struct {
	Process string `json:"process,omitempty"`
	Path    string `json:"path"`           // Windows path as wine reports it
	Type    string `json:"type,omitempty"` // native, builtin
	// ClockOffset is the guest's clock offset (seconds) when this was first seen.
	ClockOffset int64 `json:"clock_offset,omitempty"`
}

// Process is one process the guest started.
type Process struct {
	Image   string `json:"image"`
	Command string `json:"command,omitempty"`
	// ClockOffset is the guest's clock offset (seconds) when this was first seen.
	ClockOffset int64 `json:"clock_offset,omitempty"`
}

// FileWrite is one path the guest created or changed.
type FileWrite struct {
	Path string `json:"path"`
	Kind string `json:"kind,omitempty"` // added, changed, deleted
	// ClockOffset is the guest's clock offset (seconds) of the phase that wrote this, when the
	// sandbox could tell (files written only by a rerun); 0 otherwise.
	ClockOffset int64 `json:"clock_offset,omitempty"`
}
