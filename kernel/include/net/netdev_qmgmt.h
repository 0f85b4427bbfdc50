/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dynamic allocation and freeing of individual device queues.
 *
 * See Documentation/networking/queue-mgmt.rst for the model.
 */
#ifndef _NET_NETDEV_QMGMT_H
#define _NET_NETDEV_QMGMT_H

#include <linux/idr.h>
#include <linux/netdevice.h>
#include <uapi/linux/netdev.h>

struct netlink_ext_ack;

/* Number of queue types managed: rx and tx (enum netdev_queue_type). */
#define NETDEV_QMGMT_NTYPES	(NETDEV_QUEUE_TYPE_TX + 1)

struct netdev_slice;

/**
 * struct netdev_qmgmt - core bookkeeping of dynamically allocated queues
 * @nstatic:	queues of each type the driver brought up itself; snapshot of
 *		real_num_*_queues taken when the first dynamic queue of the
 *		device was allocated.  Indexes below it are never holes.
 * @ndyn:	number of live dynamically allocated queues of each type
 * @dyn:	bitmap over num_*_queues: the queue was allocated by
 *		netdev_queue_alloc() and may be freed by netdev_queue_free()
 * @hole:	bitmap over num_*_queues: index below real_num_*_queues whose
 *		queue is not live (see netdev_queue_is_live())
 * @owned:	bitmap over num_*_queues: live queue that a slice owns; the
 *		device's own stack traffic and steering stay off it
 * @slices:	on a parent: its slices (struct netdev_slice), oldest first
 * @nslices:	on a parent: length of @slices
 * @slice_ida:	on a parent: allocator of slice ids
 * @slice:	on a slice: its core record, NULL once torn down
 *
 * Allocated on the first netdev_queue_alloc() (or slice creation) of a
 * device and released by free_netdev(); the data path reads it locklessly
 * via READ_ONCE() of dev->qmgmt, writers hold rtnl_lock.
 */
struct netdev_qmgmt {
	unsigned int	nstatic[NETDEV_QMGMT_NTYPES];
	unsigned int	ndyn[NETDEV_QMGMT_NTYPES];
	unsigned long	*dyn[NETDEV_QMGMT_NTYPES];
	unsigned long	*hole[NETDEV_QMGMT_NTYPES];
	unsigned long	*owned[NETDEV_QMGMT_NTYPES];

	struct list_head	slices;
	unsigned int		nslices;
	struct ida		slice_ida;
	struct netdev_slice	*slice;
};

/* A slice has at most this many queues of each type. */
#define NETDEV_SLICE_MAX_QUEUES	256

/**
 * struct netdev_slice_cfg - what slice-create asked for
 * @name:	netdevice name, or NULL for the driver's default
 * @mac:	MAC address, or NULL for a random one
 * @max_queues:	quota: most queues of each type the slice may ever have;
 *		the slice netdevice is allocated with this many
 * @nqueues:	initial queue count of each type (at least 1)
 * @parent_ids:	per type: @nqueues parent queue ids to take, or NULL to let
 *		the parent's driver choose
 */
struct netdev_slice_cfg {
	const char	*name;
	const u8	*mac;
	unsigned int	max_queues;
	unsigned int	nqueues[NETDEV_QMGMT_NTYPES];
	const u32	*parent_ids[NETDEV_QMGMT_NTYPES];
};

/**
 * struct netdev_slice_qmap - one slice queue and the parent queue behind it
 * @id:		queue id on the slice
 * @parent_id:	queue id on the parent
 */
struct netdev_slice_qmap {
	u16	id;
	u16	parent_id;
};

int netdev_queue_alloc(struct net_device *dev, enum netdev_queue_type type,
		       int id, struct netlink_ext_ack *extack);
int netdev_queue_free(struct net_device *dev, enum netdev_queue_type type,
		      unsigned int id, struct netlink_ext_ack *extack);

bool netdev_queue_is_live(const struct net_device *dev,
			  enum netdev_queue_type type, unsigned int id);
bool netdev_queue_is_dynamic(const struct net_device *dev,
			     enum netdev_queue_type type, unsigned int id);
unsigned int netdev_queue_num_live(const struct net_device *dev,
				   enum netdev_queue_type type);
unsigned int netdev_queue_num_static(const struct net_device *dev,
				     enum netdev_queue_type type);
int netdev_qmgmt_channels_busy(struct net_device *dev,
			       struct netlink_ext_ack *extack);
u16 netdev_qmgmt_tx_fixup(const struct net_device *dev, u16 index);
void netdev_qmgmt_release(struct net_device *dev);

bool netdev_queue_is_owned(const struct net_device *dev,
			   enum netdev_queue_type type, unsigned int id);

struct net_device *netdev_slice_create(struct net_device *parent,
				       const struct netdev_slice_cfg *cfg,
				       struct netlink_ext_ack *extack);
bool netdev_is_slice(const struct net_device *dev);
struct net_device *netdev_slice_parent(const struct net_device *slice);
int netdev_slice_parent_queue(const struct net_device *slice,
			      enum netdev_queue_type type, unsigned int id);
unsigned int netdev_slice_queue_map(const struct net_device *slice,
				    enum netdev_queue_type type,
				    struct netdev_slice_qmap *map,
				    unsigned int max);

#endif /* _NET_NETDEV_QMGMT_H */
