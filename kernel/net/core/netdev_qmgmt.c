// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Dynamic queue management: allocate and free single device queues.
 *
 * Drivers implement ndo_queue_alloc()/ndo_queue_free() from
 * struct netdev_queue_mgmt_ops and pick the queue id themselves, so an id
 * may encode a queue type or a hardware resource.  The core validates
 * requests, keeps the books of which queues were allocated dynamically and
 * ties them into netif_set_real_num_{rx,tx}_queues():
 *
 *  - allocating an id at or above real_num_*_queues grows the real count
 *    to id + 1; the indexes skipped over become holes;
 *  - freeing the highest live queue shrinks the real count past any
 *    trailing holes; freeing any other dynamic queue leaves a hole.
 *
 * A hole is an index below real_num_*_queues with no live queue behind it.
 * The core never steers to a hole (TX queue selection, XPS), queue-get and
 * qstats do not report it, and drivers must keep it out of RSS and any
 * other steering.  Static queues (those the driver brought up itself,
 * below netdev_queue_num_static()) are never holes and cannot be freed
 * here; ethtool -L owns them and is refused while dynamic queues exist.
 *
 * Queues of a slice (see netdev_slice.c) go through the same two calls:
 * the slice's ndo_queue_alloc()/ndo_queue_free() are the core's own and
 * take or give back a parent queue, and the parent's RX steering is
 * updated around the moment the slice queue becomes (or stops being) live.
 *
 * Locking: all writers hold rtnl_lock.  Lock order is rtnl_lock, then any
 * driver lock taken inside the ndo; the ndos must not take rtnl_lock.  The
 * data path reads dev->qmgmt and its bitmaps locklessly; the structure is
 * published once and freed only by free_netdev().
 */

#include <linux/bitmap.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/netdev_qmgmt.h>
#include <net/netdev_queues.h>
#include <net/netdev_rx_queue.h>
#include <net/netlink.h>
#include <net/sch_generic.h>

#include "dev.h"

static const char * const qm_type_str[NETDEV_QMGMT_NTYPES] = {
	[NETDEV_QUEUE_TYPE_RX] = "rx",
	[NETDEV_QUEUE_TYPE_TX] = "tx",
};

static unsigned int qm_num(const struct net_device *dev,
			   enum netdev_queue_type type)
{
	return type == NETDEV_QUEUE_TYPE_RX ? dev->num_rx_queues :
					      dev->num_tx_queues;
}

static unsigned int qm_real(const struct net_device *dev,
			    enum netdev_queue_type type)
{
	return type == NETDEV_QUEUE_TYPE_RX ? READ_ONCE(dev->real_num_rx_queues) :
					      READ_ONCE(dev->real_num_tx_queues);
}

static int qm_set_real(struct net_device *dev, enum netdev_queue_type type,
		       unsigned int count)
{
	if (type == NETDEV_QUEUE_TYPE_RX)
		return netif_set_real_num_rx_queues(dev, count);
	return netif_set_real_num_tx_queues(dev, count);
}

/**
 * netdev_queue_is_live() - is there a queue behind this index?
 * @dev:	network device
 * @type:	queue type
 * @id:		queue index
 *
 * Safe to call from the data path without locks.
 *
 * Return: true if @id is below real_num_*_queues and not a hole.
 */
bool netdev_queue_is_live(const struct net_device *dev,
			  enum netdev_queue_type type, unsigned int id)
{
	const struct netdev_qmgmt *qm;

	if (id >= qm_real(dev, type))
		return false;
	qm = READ_ONCE(dev->qmgmt);
	return !qm || !test_bit(id, qm->hole[type]);
}
EXPORT_SYMBOL_GPL(netdev_queue_is_live);

/**
 * netdev_queue_is_dynamic() - was this queue allocated by queue-alloc?
 * @dev:	network device
 * @type:	queue type
 * @id:		queue index
 *
 * Return: true if @id is live and was allocated by netdev_queue_alloc().
 */
bool netdev_queue_is_dynamic(const struct net_device *dev,
			     enum netdev_queue_type type, unsigned int id)
{
	const struct netdev_qmgmt *qm = READ_ONCE(dev->qmgmt);

	return qm && id < qm_num(dev, type) && test_bit(id, qm->dyn[type]);
}
EXPORT_SYMBOL_GPL(netdev_queue_is_dynamic);

/**
 * netdev_queue_is_owned() - is this live queue owned by a slice?
 * @dev:	network device (a slice's parent)
 * @type:	queue type
 * @id:		queue index
 *
 * The device's own traffic and steering must stay off an owned queue: it
 * carries the slice's frames only.  Safe to call from the data path.
 *
 * Return: true if @id is live and lent to a slice of @dev.
 */
bool netdev_queue_is_owned(const struct net_device *dev,
			   enum netdev_queue_type type, unsigned int id)
{
	const struct netdev_qmgmt *qm = READ_ONCE(dev->qmgmt);

	return qm && id < qm_num(dev, type) && test_bit(id, qm->owned[type]);
}
EXPORT_SYMBOL_GPL(netdev_queue_is_owned);

/**
 * netdev_queue_num_live() - number of live queues of a type
 * @dev:	network device
 * @type:	queue type
 *
 * Return: real_num_*_queues minus the holes below it.
 */
unsigned int netdev_queue_num_live(const struct net_device *dev,
				   enum netdev_queue_type type)
{
	const struct netdev_qmgmt *qm = READ_ONCE(dev->qmgmt);
	unsigned int real = qm_real(dev, type);

	if (!qm)
		return real;
	return real - bitmap_weight(qm->hole[type], real);
}
EXPORT_SYMBOL_GPL(netdev_queue_num_live);

/**
 * netdev_queue_num_static() - number of queues the driver owns itself
 * @dev:	network device
 * @type:	queue type
 *
 * Return: the count of queues at indexes 0..n-1 that are not dynamic and
 * therefore never holes.
 */
unsigned int netdev_queue_num_static(const struct net_device *dev,
				     enum netdev_queue_type type)
{
	const struct netdev_qmgmt *qm = READ_ONCE(dev->qmgmt);

	if (!qm || (!qm->ndyn[NETDEV_QUEUE_TYPE_RX] &&
		    !qm->ndyn[NETDEV_QUEUE_TYPE_TX]))
		return qm_real(dev, type);
	return qm->nstatic[type];
}
EXPORT_SYMBOL_GPL(netdev_queue_num_static);

/**
 * netdev_qmgmt_channels_busy() - may the channel count change?
 * @dev:	network device
 * @extack:	netlink extended ack
 *
 * ethtool -L renumbers queues 0..n-1, which would silently take away queues
 * that were handed out by queue-alloc.  It is refused while any exist.
 * Caller holds rtnl_lock.
 *
 * Return: 0 or -EBUSY.
 */
int netdev_qmgmt_channels_busy(struct net_device *dev,
			       struct netlink_ext_ack *extack)
{
	const struct netdev_qmgmt *qm = dev->qmgmt;

	ASSERT_RTNL();
	if (qm && (qm->ndyn[NETDEV_QUEUE_TYPE_RX] ||
		   qm->ndyn[NETDEV_QUEUE_TYPE_TX])) {
		NL_SET_ERR_MSG_FMT(extack,
				   "device has %u rx and %u tx dynamically allocated queues; free them first",
				   qm->ndyn[NETDEV_QUEUE_TYPE_RX],
				   qm->ndyn[NETDEV_QUEUE_TYPE_TX]);
		return -EBUSY;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(netdev_qmgmt_channels_busy);

/**
 * netdev_qmgmt_tx_fixup() - keep TX queue selection off holes
 * @dev:	network device
 * @index:	queue picked by the stack or the driver
 *
 * Called from the transmit path after the queue index was capped to
 * real_num_tx_queues.  A hole, or a queue a slice owns, is folded onto the
 * static queues, which are always live and never owned.
 *
 * Return: a live TX queue index.
 */
u16 netdev_qmgmt_tx_fixup(const struct net_device *dev, u16 index)
{
	const struct netdev_qmgmt *qm = READ_ONCE(dev->qmgmt);

	if (likely(!qm || (!test_bit(index, qm->hole[NETDEV_QUEUE_TYPE_TX]) &&
			   !test_bit(index, qm->owned[NETDEV_QUEUE_TYPE_TX]))))
		return index;
	return index % max(qm->nstatic[NETDEV_QUEUE_TYPE_TX], 1U);
}

static void qm_free(struct netdev_qmgmt *qm)
{
	int t;

	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++) {
		bitmap_free(qm->dyn[t]);
		bitmap_free(qm->hole[t]);
		bitmap_free(qm->owned[t]);
	}
	ida_destroy(&qm->slice_ida);
	kfree(qm);
}

/**
 * netdev_qmgmt_get() - the queue bookkeeping of a device, allocated on demand
 * @dev:	network device
 *
 * Caller holds rtnl_lock.
 *
 * Return: the bookkeeping, or NULL if it could not be allocated.
 */
struct netdev_qmgmt *netdev_qmgmt_get(struct net_device *dev)
{
	struct netdev_qmgmt *qm = dev->qmgmt;
	int t;

	if (qm)
		return qm;

	qm = kzalloc(sizeof(*qm), GFP_KERNEL);
	if (!qm)
		return NULL;
	INIT_LIST_HEAD(&qm->slices);
	ida_init(&qm->slice_ida);
	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++) {
		qm->dyn[t] = bitmap_zalloc(qm_num(dev, t), GFP_KERNEL);
		qm->hole[t] = bitmap_zalloc(qm_num(dev, t), GFP_KERNEL);
		qm->owned[t] = bitmap_zalloc(qm_num(dev, t), GFP_KERNEL);
		if (!qm->dyn[t] || !qm->hole[t] || !qm->owned[t])
			goto err_free;
	}
	/* Pairs with READ_ONCE(dev->qmgmt) on the data path. */
	smp_store_release(&dev->qmgmt, qm);
	return qm;

err_free:
	qm_free(qm);
	return NULL;
}

/**
 * netdev_qmgmt_release() - free the queue bookkeeping of a device
 * @dev:	network device being freed
 *
 * Called by free_netdev(); the data path can no longer see @dev.
 */
void netdev_qmgmt_release(struct net_device *dev)
{
	struct netdev_qmgmt *qm = dev->qmgmt;

	if (!qm)
		return;
	/* Slices are torn down when either end unregisters. */
	WARN_ON_ONCE(qm->slice || !list_empty(&qm->slices));
	dev->qmgmt = NULL;
	qm_free(qm);
}

static int qm_check_dev(struct net_device *dev, enum netdev_queue_type type,
			struct netlink_ext_ack *extack)
{
	const struct netdev_queue_mgmt_ops *ops = dev->queue_mgmt_ops;

	if (!ops || !ops->ndo_queue_alloc || !ops->ndo_queue_free) {
		NL_SET_ERR_MSG(extack,
			       "device does not support queue allocation (no ndo_queue_alloc/ndo_queue_free)");
		return -EOPNOTSUPP;
	}
	if (type >= NETDEV_QMGMT_NTYPES) {
		NL_SET_ERR_MSG(extack, "unknown queue type");
		return -EINVAL;
	}
	if (dev->reg_state != NETREG_REGISTERED) {
		NL_SET_ERR_MSG(extack, "device is not registered");
		return -ENODEV;
	}
	return 0;
}

static int qm_queue_busy(struct net_device *dev, enum netdev_queue_type type,
			 unsigned int id, struct netlink_ext_ack *extack)
{
	if (type == NETDEV_QUEUE_TYPE_RX) {
		struct netdev_rx_queue *rxq = __netif_get_rx_queue(dev, id);

#ifdef CONFIG_XDP_SOCKETS
		if (rxq->pool) {
			NL_SET_ERR_MSG(extack, "an AF_XDP socket is bound to the queue");
			return -EBUSY;
		}
#endif
		if (rxq->mp_params.mp_priv) {
			NL_SET_ERR_MSG(extack, "a memory provider is bound to the queue");
			return -EBUSY;
		}
	} else {
#ifdef CONFIG_XDP_SOCKETS
		if (netdev_get_tx_queue(dev, id)->pool) {
			NL_SET_ERR_MSG(extack, "an AF_XDP socket is bound to the queue");
			return -EBUSY;
		}
#endif
	}
	return 0;
}

/* Drop whatever a qdisc still holds for a TX queue that became a hole. */
static void qm_tx_hole_flush(struct net_device *dev, unsigned int id)
{
	struct netdev_queue *txq = netdev_get_tx_queue(dev, id);
	struct Qdisc *q = rtnl_dereference(txq->qdisc_sleeping);

	netdev_reset_xps_queue(dev, id);
	if (q) {
		spin_lock_bh(qdisc_lock(q));
		qdisc_reset(q);
		spin_unlock_bh(qdisc_lock(q));
	}
}

/**
 * netdev_queue_alloc() - allocate one queue of a device
 * @dev:	network device
 * @type:	queue type
 * @id:		requested queue id, or -1 to let the driver choose
 * @extack:	netlink extended ack
 *
 * Asks the driver for a queue through ndo_queue_alloc(), then makes it
 * visible to the stack: real_num_*_queues grows if needed, and the indexes
 * skipped over become holes.  Every other queue keeps running.  On error
 * nothing changed.  Caller holds rtnl_lock.
 *
 * Return: the queue id the driver chose, or a negative errno.
 */
int netdev_queue_alloc(struct net_device *dev, enum netdev_queue_type type,
		       int id, struct netlink_ext_ack *extack)
{
	const struct netdev_queue_mgmt_ops *ops;
	struct netdev_qmgmt *qm;
	unsigned int num, real;
	int ret, err;

	ASSERT_RTNL();
	err = qm_check_dev(dev, type, extack);
	if (err)
		return err;
	ops = dev->queue_mgmt_ops;
	num = qm_num(dev, type);
	if (id >= 0 && id >= num) {
		NL_SET_ERR_MSG_FMT(extack,
				   "queue id %d out of range: device has %u %s queues",
				   id, num, qm_type_str[type]);
		return -ERANGE;
	}
	if (id >= 0 && netdev_queue_is_live(dev, type, id)) {
		NL_SET_ERR_MSG_FMT(extack, "%s queue %d is already in use",
				   qm_type_str[type], id);
		return -EBUSY;
	}

	qm = netdev_qmgmt_get(dev);
	if (!qm)
		return -ENOMEM;
	if (!qm->ndyn[NETDEV_QUEUE_TYPE_RX] && !qm->ndyn[NETDEV_QUEUE_TYPE_TX]) {
		qm->nstatic[NETDEV_QUEUE_TYPE_RX] = dev->real_num_rx_queues;
		qm->nstatic[NETDEV_QUEUE_TYPE_TX] = dev->real_num_tx_queues;
	}

	ret = ops->ndo_queue_alloc(dev, type, id, extack);
	if (ret < 0)
		return ret;
	if (WARN_ON_ONCE(ret >= num || (id >= 0 && ret != id) ||
			 netdev_queue_is_live(dev, type, ret))) {
		NL_SET_ERR_MSG(extack, "driver returned an invalid queue id");
		return -EIO;
	}

	real = qm_real(dev, type);
	if (ret >= real) {
		/* Mark the gap before it becomes visible below the new count. */
		bitmap_set(qm->hole[type], real, ret - real);
		clear_bit(ret, qm->hole[type]);
		err = qm_set_real(dev, type, ret + 1);
		if (err) {
			NL_SET_ERR_MSG(extack, "failed to grow the real queue count");
			goto err_driver_free;
		}
	} else {
		clear_bit(ret, qm->hole[type]);
	}
	set_bit(ret, qm->dyn[type]);
	qm->ndyn[type]++;

	/* A slice's new rx queue takes frames only once it is live. */
	if (qm->slice && type == NETDEV_QUEUE_TYPE_RX) {
		err = netdev_slice_steer(dev, -1, extack);
		if (err) {
			clear_bit(ret, qm->dyn[type]);
			qm->ndyn[type]--;
			if (ret >= real)
				WARN_ON_ONCE(qm_set_real(dev, type, real));
			else
				set_bit(ret, qm->hole[type]);
			synchronize_net();
			goto err_driver_free;
		}
	}

	netdev_nl_queue_notify(dev, type, ret, NETDEV_CMD_QUEUE_ADD_NTF);
	return ret;

err_driver_free:
	if (real < ret)
		bitmap_clear(qm->hole[type], real, ret - real);
	ops->ndo_queue_free(dev, type, ret, NULL);
	return err;
}
EXPORT_SYMBOL_GPL(netdev_queue_alloc);

/* Hide a live dynamic queue, let the driver free it and drop it from the
 * books.  While the device unregisters, the real count is left alone (its
 * sysfs queues are removed by that count) and the queue becomes a hole.
 */
static int qm_remove(struct net_device *dev, enum netdev_queue_type type,
		     unsigned int id, struct netlink_ext_ack *extack)
{
	bool registered = dev->reg_state == NETREG_REGISTERED;
	struct netdev_qmgmt *qm = dev->qmgmt;
	unsigned int real, new_real;
	int err;

	real = qm_real(dev, type);
	new_real = real;
	if (registered && id == real - 1) {
		new_real = id;
		while (new_real > 1 && test_bit(new_real - 1, qm->hole[type]))
			new_real--;
		err = qm_set_real(dev, type, new_real);
		if (err) {
			NL_SET_ERR_MSG(extack, "failed to shrink the real queue count");
			return err;
		}
	} else {
		set_bit(id, qm->hole[type]);
		if (registered && type == NETDEV_QUEUE_TYPE_TX)
			qm_tx_hole_flush(dev, id);
	}
	/* No data path user of the queue may remain when the driver frees it. */
	synchronize_net();

	err = dev->queue_mgmt_ops->ndo_queue_free(dev, type, id, extack);
	if (err)
		goto err_restore;

	if (new_real != real)
		bitmap_clear(qm->hole[type], new_real, real - new_real);
	/* The notification describes the queue that went away. */
	if (registered)
		netdev_nl_queue_notify(dev, type, id, NETDEV_CMD_QUEUE_DEL_NTF);
	clear_bit(id, qm->dyn[type]);
	qm->ndyn[type]--;
	return 0;

err_restore:
	if (new_real != real)
		WARN_ON_ONCE(qm_set_real(dev, type, real));
	else
		clear_bit(id, qm->hole[type]);
	return err;
}

/**
 * netdev_queue_give_back() - give back a queue a slice owned
 * @dev:	the slice's parent
 * @type:	queue type
 * @id:		parent queue id, already no longer marked owned
 *
 * Like netdev_queue_free() without the checks a user request needs, and
 * usable while @dev unregisters.  Caller holds rtnl_lock.
 */
void netdev_queue_give_back(struct net_device *dev,
			    enum netdev_queue_type type, unsigned int id)
{
	ASSERT_RTNL();
	if (WARN_ON_ONCE(!netdev_queue_is_dynamic(dev, type, id)))
		return;
	WARN_ON_ONCE(qm_remove(dev, type, id, NULL));
}

/**
 * netdev_queue_free() - free one dynamically allocated queue
 * @dev:	network device
 * @type:	queue type
 * @id:		queue id
 * @extack:	netlink extended ack
 *
 * The queue is first hidden from the stack (real_num_*_queues shrinks or
 * the index becomes a hole), in-flight users are waited for, and only then
 * does the driver release it through ndo_queue_free().  Refused with
 * -EBUSY while an AF_XDP socket or a memory provider is bound to the queue
 * or a slice owns it.  On error nothing changed.  Caller holds rtnl_lock.
 *
 * Return: 0 or a negative errno.
 */
int netdev_queue_free(struct net_device *dev, enum netdev_queue_type type,
		      unsigned int id, struct netlink_ext_ack *extack)
{
	struct netdev_qmgmt *qm;
	unsigned int num;
	int err;

	ASSERT_RTNL();
	err = qm_check_dev(dev, type, extack);
	if (err)
		return err;
	num = qm_num(dev, type);
	if (id >= num) {
		NL_SET_ERR_MSG_FMT(extack,
				   "queue id %u out of range: device has %u %s queues",
				   id, num, qm_type_str[type]);
		return -ERANGE;
	}
	if (!netdev_queue_is_live(dev, type, id)) {
		NL_SET_ERR_MSG_FMT(extack, "%s queue %u is not active",
				   qm_type_str[type], id);
		return -ENOENT;
	}
	qm = dev->qmgmt;
	if (!qm || !test_bit(id, qm->dyn[type])) {
		NL_SET_ERR_MSG_FMT(extack,
				   "%s queue %u was not allocated dynamically (use ethtool -L for static queues)",
				   qm_type_str[type], id);
		return -EINVAL;
	}
	if (test_bit(id, qm->owned[type])) {
		NL_SET_ERR_MSG_FMT(extack,
				   "%s queue %u is owned by slice %s; free it there or delete the slice",
				   qm_type_str[type], id,
				   netdev_slice_owner_name(dev, type, id));
		return -EBUSY;
	}
	err = qm_queue_busy(dev, type, id, extack);
	if (err)
		return err;

	/* A slice's rx queue stops taking frames before it goes away. */
	if (qm->slice && type == NETDEV_QUEUE_TYPE_RX) {
		err = netdev_slice_steer(dev, id, extack);
		if (err)
			return err;
	}
	err = qm_remove(dev, type, id, extack);
	if (err && qm->slice && type == NETDEV_QUEUE_TYPE_RX)
		netdev_slice_steer(dev, -1, NULL);
	return err;
}
EXPORT_SYMBOL_GPL(netdev_queue_free);
