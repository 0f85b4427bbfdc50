"""qmgmt-cni: a CNI 1.1 plugin that gives a container a slice.

ADD creates a slice of the configured parent (rx/tx queues, quota, MAC),
moves it into CNI_NETNS as CNI_IFNAME and configures the addresses a
delegated IPAM plugin (the reference host-local) hands out.  DEL, CHECK,
STATUS, GC and VERSION follow the CNI spec 1.1.

  config.py   network config, runtimeConfig and CNI_ARGS -> one request
  ipam.py     the delegated IPAM plugin (exec, version negotiation)
  state.py    what ADD made, per attachment, for DEL/CHECK/GC
  plugin.py   the commands and the entry point
"""
