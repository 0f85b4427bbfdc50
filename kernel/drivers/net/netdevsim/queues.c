// SPDX-License-Identifier: GPL-2.0
/*
 * netdevsim: dynamic queue allocation (ndo_queue_alloc / ndo_queue_free).
 *
 * The simulated hardware has a pool of queues of each type: the QUEUES
 * count given to new_device, which debugfs queues/pool_rx and
 * queues/pool_tx may lower.  Driver policy: honour a requested id if it is
 * in the pool, else hand out the lowest id in the pool that has no live
 * queue.  Queues a slice owns come from the same pool (see slice.c).
 * An RX queue's per-queue state (NAPI instance, page pool, ring)
 * exists exactly while the queue is live and the device is up; TX queues
 * only have counters.
 *
 * Test knobs in ports/N/queues/ of the device's debugfs directory:
 *   pool_rx, pool_tx	hardware pool size per type
 *   fail_alloc_step	fail the next allocation at this step (one shot):
 *			1 picking the id, 2 per-queue memory, 3 queue start
 *   fail_slice_step	fail the next slice-create at this step (one shot):
 *			1 allocating the netdevice, 2 steering (see slice.c)
 *   state		one line per queue index: liveness, origin, NAPI
 *			state and packet counters
 */

#include <linux/debugfs.h>
#include <linux/netdevice.h>
#include <linux/seq_file.h>
#include <net/netdev_qmgmt.h>
#include <net/netdev_queues.h>
#include <net/netlink.h>

#include "netdevsim.h"

static const char * const nsim_qtype_str[] = {
	[NETDEV_QUEUE_TYPE_RX] = "rx",
	[NETDEV_QUEUE_TYPE_TX] = "tx",
};

static unsigned int nsim_qpool_size(const struct netdevsim *ns,
				    enum netdev_queue_type type)
{
	const struct net_device *dev = ns->netdev;
	unsigned int num = type == NETDEV_QUEUE_TYPE_RX ? dev->num_rx_queues :
							  dev->num_tx_queues;

	return min(READ_ONCE(ns->qpool.size[type]), num);
}

/* One-shot fault injection: true if the next allocation must fail here. */
static bool nsim_qfail(struct netdevsim *ns, enum nsim_qfail_step step)
{
	if (READ_ONCE(ns->qpool.fail_step) != step)
		return false;
	WRITE_ONCE(ns->qpool.fail_step, NSIM_QFAIL_NONE);
	return true;
}

static int nsim_queue_pick(struct netdevsim *ns, enum netdev_queue_type type,
			   int id, struct netlink_ext_ack *extack)
{
	unsigned int pool = nsim_qpool_size(ns, type);

	if (nsim_qfail(ns, NSIM_QFAIL_PICK)) {
		NL_SET_ERR_MSG(extack, "netdevsim: injected failure picking a queue id");
		return -EIO;
	}
	if (id >= 0) {
		if (id >= pool) {
			NL_SET_ERR_MSG_FMT(extack,
					   "netdevsim: %s queue %d is outside the hardware pool of %u",
					   nsim_qtype_str[type], id, pool);
			return -ERANGE;
		}
		return id;
	}
	for (id = 0; id < pool; id++)
		if (!netdev_queue_is_live(ns->netdev, type, id))
			return id;
	NL_SET_ERR_MSG_FMT(extack, "netdevsim: all %u hardware %s queues are in use",
			   pool, nsim_qtype_str[type]);
	return -ENOSPC;
}

static int nsim_qmgmt_alloc(struct net_device *dev, enum netdev_queue_type type,
			    int id, struct netlink_ext_ack *extack)
{
	struct netdevsim *ns = netdev_priv(dev);
	enum nsim_qfail_step fail;
	int err;

	id = nsim_queue_pick(ns, type, id, extack);
	if (id < 0 || type == NETDEV_QUEUE_TYPE_TX)
		return id;

	if (!netif_running(dev))
		return id;	/* nsim_open() starts every live queue */

	fail = NSIM_QFAIL_NONE;
	if (nsim_qfail(ns, NSIM_QFAIL_MEM))
		fail = NSIM_QFAIL_MEM;
	else if (nsim_qfail(ns, NSIM_QFAIL_START))
		fail = NSIM_QFAIL_START;
	err = nsim_rq_start(ns, id, fail);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack, "netdevsim: failed to start rx queue %d%s",
				   id, fail ? " (injected)" : "");
		return err;
	}
	return id;
}

static int nsim_qmgmt_free(struct net_device *dev, enum netdev_queue_type type,
			   unsigned int id, struct netlink_ext_ack *extack)
{
	struct netdevsim *ns = netdev_priv(dev);

	if (type == NETDEV_QUEUE_TYPE_RX)
		nsim_rq_stop(ns, id);
	return 0;
}

const struct netdev_queue_mgmt_ops nsim_queue_mgmt_ops = {
	.ndo_queue_alloc	= nsim_qmgmt_alloc,
	.ndo_queue_free		= nsim_qmgmt_free,
	.ndo_slice_alloc	= nsim_slice_alloc,
	.ndo_slice_steer	= nsim_slice_steer,
	.ndo_slice_unsteer	= nsim_slice_unsteer,
};

static void nsim_qstate_show_type(struct seq_file *file, struct netdevsim *ns,
				  enum netdev_queue_type type)
{
	struct net_device *dev = ns->netdev;
	unsigned int i, num;
	u64 packets, bytes;

	num = type == NETDEV_QUEUE_TYPE_RX ? dev->num_rx_queues :
					     dev->num_tx_queues;
	for (i = 0; i < num; i++) {
		bool live = netdev_queue_is_live(dev, type, i);
		const char *state;

		if (live)
			state = "live";
		else if (i < (type == NETDEV_QUEUE_TYPE_RX ?
			      dev->real_num_rx_queues : dev->real_num_tx_queues))
			state = "hole";
		else
			state = "off";

		if (type == NETDEV_QUEUE_TYPE_RX)
			nsim_queue_stats_read(&ns->rq[i].stats, &packets, &bytes);
		else
			nsim_queue_stats_read(&ns->tx_stats[i], &packets, &bytes);

		seq_printf(file, "%s %u %s %s%s", nsim_qtype_str[type], i, state,
			   netdev_queue_is_dynamic(dev, type, i) ? "dynamic" : "static",
			   netdev_queue_is_owned(dev, type, i) ? " owned" : "");
		if (type == NETDEV_QUEUE_TYPE_RX)
			seq_printf(file, " napi=%s",
				   READ_ONCE(ns->rq[i].up) ? "up" : "down");
		seq_printf(file, " packets=%llu bytes=%llu\n", packets, bytes);
	}
}

static int nsim_qstate_show(struct seq_file *file, void *data)
{
	struct netdevsim *ns = file->private;

	rtnl_lock();
	nsim_qstate_show_type(file, ns, NETDEV_QUEUE_TYPE_RX);
	nsim_qstate_show_type(file, ns, NETDEV_QUEUE_TYPE_TX);
	rtnl_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(nsim_qstate);

void nsim_queues_init(struct netdevsim *ns)
{
	struct net_device *dev = ns->netdev;

	ns->qpool.size[NETDEV_QUEUE_TYPE_RX] = dev->num_rx_queues;
	ns->qpool.size[NETDEV_QUEUE_TYPE_TX] = dev->num_tx_queues;
	ns->qpool.fail_step = NSIM_QFAIL_NONE;
	ns->qpool.slice_fail_step = NSIM_SFAIL_NONE;
	dev->queue_mgmt_ops = &nsim_queue_mgmt_ops;

	ns->qpool.ddir = debugfs_create_dir("queues", ns->nsim_dev_port->ddir);
	debugfs_create_u32("pool_rx", 0600, ns->qpool.ddir,
			   &ns->qpool.size[NETDEV_QUEUE_TYPE_RX]);
	debugfs_create_u32("pool_tx", 0600, ns->qpool.ddir,
			   &ns->qpool.size[NETDEV_QUEUE_TYPE_TX]);
	debugfs_create_u32("fail_alloc_step", 0600, ns->qpool.ddir,
			   &ns->qpool.fail_step);
	debugfs_create_u32("fail_slice_step", 0600, ns->qpool.ddir,
			   &ns->qpool.slice_fail_step);
	debugfs_create_file("state", 0400, ns->qpool.ddir, ns,
			    &nsim_qstate_fops);
}

void nsim_queues_uninit(struct netdevsim *ns)
{
	debugfs_remove_recursive(ns->qpool.ddir);
	ns->qpool.ddir = NULL;
}
