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
}

// NetEvent is one network attempt the sinkhole answered.
type NetEvent struct {
	// MS is the time since the sinkhole started (just before the guest), in milliseconds;
	// baselines drop it.
	MS    int64  `json:"ms"`
	Proto string `json:"proto"`           // dns, tcp, udp, icmp
	Name  string `json:"name,omitempty"`  // DNS query name, TLS SNI or HTTP Host
	Addr  string `json:"addr,omitempty"`  // destination address
	Port  int    `json:"port,omitempty"`  // destination port
	QType string `json:"qtype,omitempty"` // DNS query type
	SNI   string `json:"sni,omitempty"`
	HTTP  string `json:"http,omitempty"` // request line
	Host  string `json:"host,omitempty"` // HTTP Host header
	// Bytes is a datagram's payload length (UDP).
	Bytes int `json:"bytes,omitempty"`
}

// DLLLoad is one module a process loaded.
type DLLLoad struct {
	Process string `json:"process,omitempty"`
	Path    string `json:"path"`           // Windows path as wine reports it
	Type    string `json:"type,omitempty"` // native, builtin
}

// Process is one process the guest started.
type Process struct {
	Image   string `json:"image"`
	Command string `json:"command,omitempty"`
}

// FileWrite is one path the guest created or changed.
type FileWrite struct {
	Path string `json:"path"`
	Kind string `json:"kind,omitempty"` // added, changed, deleted
}
