/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dynamic allocation and freeing of individual device queues.
 *
 * See Documentation/networking/queue-mgmt.rst for the model.
 */
#ifndef _NET_NETDEV_QMGMT_H
#define _NET_NETDEV_QMGMT_H

#include <linux/netdevice.h>
#include <uapi/linux/netdev.h>

struct netlink_ext_ack;

/* Number of queue types managed: rx and tx (enum netdev_queue_type). */
#define NETDEV_QMGMT_NTYPES	(NETDEV_QUEUE_TYPE_TX + 1)

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
 *
 * Allocated on the first netdev_queue_alloc() of a device and released by
 * free_netdev(); the data path reads it locklessly via READ_ONCE() of
 * dev->qmgmt, writers hold rtnl_lock.
 */
struct netdev_qmgmt {
	unsigned int	nstatic[NETDEV_QMGMT_NTYPES];
	unsigned int	ndyn[NETDEV_QMGMT_NTYPES];
	unsigned long	*dyn[NETDEV_QMGMT_NTYPES];
	unsigned long	*hole[NETDEV_QMGMT_NTYPES];
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

#endif /* _NET_NETDEV_QMGMT_H */
