// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Netdev slices: a child netdevice that owns real queues of its parent.
 *
 * The parent's driver creates the slice netdevice (ndo_slice_alloc()) and
 * programs steering (ndo_slice_steer()/ndo_slice_unsteer()); the core owns
 * everything else:
 *
 *  - the registry: struct netdev_slice per slice, on the parent's
 *    qmgmt->slices list, holding the parent with a tracked reference;
 *  - the queue map: slice queue i of a type is backed by a parent queue the
 *    core allocated with netdev_queue_alloc() and marked owned, so that the
 *    parent's own traffic, steering and queue-free stay off it;
 *  - the quota: the slice netdevice has max_queues queues of each type, and
 *    queue-alloc on it (the slice's queue ops are the core's) takes a new
 *    parent queue only while a slot is free (EDQUOT otherwise);
 *  - teardown: whichever way a slice goes (slice-delete, ip link del, its
 *    netns is deleted, its parent unregisters), the NETDEV_UNREGISTER
 *    notifier of the slice unsteers it, waits for in-flight frames and
 *    gives every queue back to the parent.  When the parent unregisters,
 *    its slices are unregistered first.
 *
 * Locking: rtnl_lock protects the registry and the queue maps.  Lock order
 * is rtnl_lock, then the parent's driver locks, then the slice's; the ndos
 * are called for the parent with rtnl_lock held and must not take it.  The
 * data path reads the queue map locklessly (netdev_slice_parent_queue());
 * entries are set before a slice queue goes live and cleared only after it
 * was hidden and synchronize_net() ran.
 */

#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netdev_qmgmt.h>
#include <net/netdev_queues.h>
#include <net/rtnetlink.h>
#include <net/sock.h>

#include "dev.h"
#include "netdev-genl-gen.h"

#define NETDEV_SLICE_NONE	U16_MAX

static const char * const slice_qtype_str[NETDEV_QMGMT_NTYPES] = {
	[NETDEV_QUEUE_TYPE_RX] = "rx",
	[NETDEV_QUEUE_TYPE_TX] = "tx",
};

/**
 * struct netdev_slice - core record of a slice
 * @dev:		the slice netdevice
 * @parent:		the parent netdevice, held through @parent_tracker
 * @parent_tracker:	tracker of the reference on @parent
 * @node:		entry in the parent's qmgmt->slices
 * @id:			slice id, unique among the parent's slices
 * @max_queues:		quota: queues of each type; length of @map arrays
 * @map:		per type: slice queue id -> parent queue id or
 *			NETDEV_SLICE_NONE; read locklessly by the data path
 * @steer_exclude:	rx queue about to be freed, kept out of the steering
 *			while ndo_slice_steer() runs; -1 if none
 * @announced:		slice-add-ntf was sent, so slice-del-ntf is due
 */
struct netdev_slice {
	struct net_device	*dev;
	struct net_device	*parent;
	netdevice_tracker	parent_tracker;
	struct list_head	node;

	u32			id;
	u32			max_queues;
	u16			*map[NETDEV_QMGMT_NTYPES];

	int			steer_exclude;
	bool			announced;
};

static struct netdev_slice *slice_of(const struct net_device *dev)
{
	const struct netdev_qmgmt *qm = READ_ONCE(dev->qmgmt);

	return qm ? READ_ONCE(qm->slice) : NULL;
}

/**
 * netdev_is_slice() - is this device a slice?
 * @dev:	network device
 *
 * Return: true if @dev was created by netdev_slice_create() and is alive.
 */
bool netdev_is_slice(const struct net_device *dev)
{
	return slice_of(dev);
}
EXPORT_SYMBOL_GPL(netdev_is_slice);

/**
 * netdev_slice_parent() - the parent of a slice
 * @slice:	slice netdevice
 *
 * Return: the parent, or NULL if @slice is not a slice.
 */
struct net_device *netdev_slice_parent(const struct net_device *slice)
{
	struct netdev_slice *s = slice_of(slice);

	return s ? s->parent : NULL;
}
EXPORT_SYMBOL_GPL(netdev_slice_parent);

/**
 * netdev_slice_parent_queue() - the parent queue behind a slice queue
 * @slice:	slice netdevice
 * @type:	queue type
 * @id:		queue id on the slice
 *
 * Safe to call from the slice's data path without locks.
 *
 * Return: the parent queue id, or -ENOENT if none backs @id.
 */
int netdev_slice_parent_queue(const struct net_device *slice,
			      enum netdev_queue_type type, unsigned int id)
{
	struct netdev_slice *s = slice_of(slice);
	u16 pid;

	if (!s || type >= NETDEV_QMGMT_NTYPES || id >= s->max_queues)
		return -ENOENT;
	pid = READ_ONCE(s->map[type][id]);
	return pid == NETDEV_SLICE_NONE ? -ENOENT : pid;
}
EXPORT_SYMBOL_GPL(netdev_slice_parent_queue);

/**
 * netdev_slice_queue_map() - the steerable queues of a slice
 * @slice:	slice netdevice
 * @type:	queue type
 * @map:	array to fill
 * @max:	length of @map; slice->num_*_queues is always enough
 *
 * For ndo_slice_steer(): the live queues of @slice with the parent queue
 * behind each, excluding one that is about to be freed.  Caller holds
 * rtnl_lock.
 *
 * Return: the number of entries filled in.
 */
unsigned int netdev_slice_queue_map(const struct net_device *slice,
				    enum netdev_queue_type type,
				    struct netdev_slice_qmap *map,
				    unsigned int max)
{
	struct netdev_slice *s = slice_of(slice);
	unsigned int i, n = 0;

	ASSERT_RTNL();
	if (!s || type >= NETDEV_QMGMT_NTYPES)
		return 0;
	for (i = 0; i < s->max_queues && n < max; i++) {
		if (s->map[type][i] == NETDEV_SLICE_NONE ||
		    !netdev_queue_is_live(slice, type, i) ||
		    (type == NETDEV_QUEUE_TYPE_RX && i == s->steer_exclude))
			continue;
		map[n].id = i;
		map[n].parent_id = s->map[type][i];
		n++;
	}
	return n;
}
EXPORT_SYMBOL_GPL(netdev_slice_queue_map);

/**
 * netdev_slice_steer() - reprogram the parent's steering of a slice
 * @slice:	slice netdevice
 * @exclude:	rx queue to leave out (about to be freed), or -1
 * @extack:	netlink extended ack
 *
 * Caller holds rtnl_lock.
 *
 * Return: 0 or the driver's error; the previous steering stays on error.
 */
int netdev_slice_steer(struct net_device *slice, int exclude,
		       struct netlink_ext_ack *extack)
{
	struct netdev_slice *s = slice_of(slice);
	int err;

	ASSERT_RTNL();
	if (WARN_ON_ONCE(!s))
		return -ENODEV;
	s->steer_exclude = exclude;
	err = s->parent->queue_mgmt_ops->ndo_slice_steer(s->parent, slice,
							 extack);
	s->steer_exclude = -1;
	return err;
}

static struct netdev_slice *slice_owning(const struct net_device *parent,
					 enum netdev_queue_type type,
					 unsigned int pid, unsigned int *id)
{
	struct netdev_qmgmt *qm = parent->qmgmt;
	struct netdev_slice *s;
	unsigned int i;

	if (!qm)
		return NULL;
	list_for_each_entry(s, &qm->slices, node)
		for (i = 0; i < s->max_queues; i++)
			if (s->map[type][i] == pid) {
				*id = i;
				return s;
			}
	return NULL;
}

/**
 * netdev_slice_owner_name() - name of the slice that owns a parent queue
 * @parent:	parent netdevice
 * @type:	queue type
 * @id:		parent queue id
 *
 * Caller holds rtnl_lock.
 *
 * Return: the slice's name, or "?" if no slice owns the queue.
 */
const char *netdev_slice_owner_name(const struct net_device *parent,
				    enum netdev_queue_type type,
				    unsigned int id)
{
	struct netdev_slice *s;
	unsigned int i;

	s = slice_owning(parent, type, id, &i);
	return s ? s->dev->name : "?";
}

static int slice_put_netnsid(struct sk_buff *rsp, int attr, struct net *net,
			     struct net_device *dev)
{
	if (net_eq(net, dev_net(dev)))
		return 0;
	return nla_put_s32(rsp, attr,
			   peernet2id_alloc(net, dev_net(dev), GFP_KERNEL));
}

/**
 * netdev_slice_fill_lease() - put the lease nest of a queue, if it has one
 * @rsp:	message
 * @net:	namespace of the requester, for netns-id
 * @dev:	device of the queue
 * @q_type:	queue type
 * @q_idx:	queue id
 *
 * On a slice queue the lease names the parent queue behind it; on a parent
 * queue owned by a slice it names the slice queue.  Caller holds rtnl_lock.
 *
 * Return: 0 or -EMSGSIZE.
 */
int netdev_slice_fill_lease(struct sk_buff *rsp, struct net *net,
			    struct net_device *dev, u32 q_type, u32 q_idx)
{
	struct net_device *peer = NULL;
	struct nlattr *lease, *queue;
	struct netdev_slice *s;
	unsigned int peer_q = 0;
	int pid;

	s = slice_of(dev);
	if (s) {
		pid = netdev_slice_parent_queue(dev, q_type, q_idx);
		if (pid >= 0) {
			peer = s->parent;
			peer_q = pid;
		}
	} else if (netdev_queue_is_owned(dev, q_type, q_idx)) {
		s = slice_owning(dev, q_type, q_idx, &peer_q);
		if (s)
			peer = s->dev;
	}
	if (!peer)
		return 0;

	lease = nla_nest_start(rsp, NETDEV_A_QUEUE_LEASE);
	if (!lease)
		return -EMSGSIZE;
	if (nla_put_u32(rsp, NETDEV_A_LEASE_IFINDEX, peer->ifindex))
		goto err_cancel;
	queue = nla_nest_start(rsp, NETDEV_A_LEASE_QUEUE);
	if (!queue ||
	    nla_put_u32(rsp, NETDEV_A_QUEUE_ID, peer_q) ||
	    nla_put_u32(rsp, NETDEV_A_QUEUE_TYPE, q_type))
		goto err_cancel;
	nla_nest_end(rsp, queue);
	if (slice_put_netnsid(rsp, NETDEV_A_LEASE_NETNS_ID, net, peer))
		goto err_cancel;
	nla_nest_end(rsp, lease);
	return 0;

err_cancel:
	nla_nest_cancel(rsp, lease);
	return -EMSGSIZE;
}

/* Queue ops of every slice: queue-alloc on a slice takes a parent queue. */
static int slice_queue_alloc(struct net_device *dev,
			     enum netdev_queue_type type, int id,
			     struct netlink_ext_ack *extack)
{
	struct netdev_slice *s = slice_of(dev);
	struct netdev_qmgmt *pqm;
	int pid;

	if (!s)
		return -ENODEV;
	if (id < 0) {
		for (id = 0; id < s->max_queues; id++)
			if (!netdev_queue_is_live(dev, type, id))
				break;
		if (id == s->max_queues) {
			NL_SET_ERR_MSG_FMT(extack,
					   "slice quota reached: %u of %u %s queues in use",
					   s->max_queues, s->max_queues,
					   slice_qtype_str[type]);
			return -EDQUOT;
		}
	}

	pid = netdev_queue_alloc(s->parent, type, -1, extack);
	if (pid < 0)
		return pid;
	pqm = s->parent->qmgmt;
	set_bit(pid, pqm->owned[type]);
	WRITE_ONCE(s->map[type][id], pid);
	return id;
}

static void slice_give_back(struct netdev_slice *s, enum netdev_queue_type type,
			    unsigned int id)
{
	u16 pid = s->map[type][id];

	if (pid == NETDEV_SLICE_NONE)
		return;
	WRITE_ONCE(s->map[type][id], NETDEV_SLICE_NONE);
	clear_bit(pid, s->parent->qmgmt->owned[type]);
	netdev_queue_give_back(s->parent, type, pid);
}

static int slice_queue_free(struct net_device *dev,
			    enum netdev_queue_type type, unsigned int id,
			    struct netlink_ext_ack *extack)
{
	struct netdev_slice *s = slice_of(dev);

	if (WARN_ON_ONCE(!s || id >= s->max_queues))
		return -ENODEV;
	slice_give_back(s, type, id);
	return 0;
}

static const struct netdev_queue_mgmt_ops netdev_slice_queue_ops = {
	.ndo_queue_alloc	= slice_queue_alloc,
	.ndo_queue_free		= slice_queue_free,
};

static struct net *slice_get_link_net(const struct net_device *dev)
{
	struct net_device *parent = netdev_slice_parent(dev);

	return parent ? dev_net(parent) : dev_net(dev);
}

/* Not registered: slices are made by slice-create, never by ip link add.
 * It gives ip link del and netns deletion a dellink, and ip -d link a kind.
 */
static struct rtnl_link_ops netdev_slice_link_ops = {
	.kind		= "slice",
	.dellink	= unregister_netdevice_queue,
	.get_link_net	= slice_get_link_net,
};

static size_t slice_msg_size(const struct netdev_slice *s)
{
	/* fixed attributes, then one nest of three u32 per queue */
	return NLMSG_GOODSIZE / 2 +
	       NETDEV_QMGMT_NTYPES * s->max_queues * nla_total_size(3 * 8);
}

static int slice_fill(struct sk_buff *rsp, struct netdev_slice *s,
		      struct net *net)
{
	struct net_device *dev = s->dev;
	struct nlattr *nest;
	unsigned int t, i;

	if (nla_put_u32(rsp, NETDEV_A_SLICE_ID, s->id) ||
	    nla_put_u32(rsp, NETDEV_A_SLICE_IFINDEX, dev->ifindex) ||
	    nla_put_u32(rsp, NETDEV_A_SLICE_PARENT_IFINDEX, s->parent->ifindex) ||
	    nla_put_string(rsp, NETDEV_A_SLICE_NAME, dev->name) ||
	    nla_put_u32(rsp, NETDEV_A_SLICE_RX_QUEUES,
			netdev_queue_num_live(dev, NETDEV_QUEUE_TYPE_RX)) ||
	    nla_put_u32(rsp, NETDEV_A_SLICE_TX_QUEUES,
			netdev_queue_num_live(dev, NETDEV_QUEUE_TYPE_TX)) ||
	    nla_put_u32(rsp, NETDEV_A_SLICE_MAX_QUEUES, s->max_queues) ||
	    nla_put(rsp, NETDEV_A_SLICE_MAC, ETH_ALEN, dev->dev_addr))
		return -EMSGSIZE;

	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++)
		for (i = 0; i < s->max_queues; i++) {
			if (s->map[t][i] == NETDEV_SLICE_NONE)
				continue;
			nest = nla_nest_start(rsp, NETDEV_A_SLICE_QUEUE);
			if (!nest ||
			    nla_put_u32(rsp, NETDEV_A_SLICE_QUEUE_ID, i) ||
			    nla_put_u32(rsp, NETDEV_A_SLICE_QUEUE_TYPE, t) ||
			    nla_put_u32(rsp, NETDEV_A_SLICE_QUEUE_PARENT_ID,
					s->map[t][i]))
				return -EMSGSIZE;
			nla_nest_end(rsp, nest);
		}

	if (slice_put_netnsid(rsp, NETDEV_A_SLICE_NETNS_ID, net, dev) ||
	    slice_put_netnsid(rsp, NETDEV_A_SLICE_PARENT_NETNS_ID, net,
			      s->parent))
		return -EMSGSIZE;
	return 0;
}

/* Build slice-add-ntf or slice-del-ntf for the parent's namespace. */
static struct sk_buff *slice_ntf_build(struct netdev_slice *s, int cmd)
{
	struct net *net = dev_net(s->parent);
	struct sk_buff *ntf;
	void *hdr;

	if (!genl_has_listeners(&netdev_nl_family, net, NETDEV_NLGRP_MGMT))
		return NULL;
	ntf = genlmsg_new(slice_msg_size(s), GFP_KERNEL);
	if (!ntf)
		return NULL;
	hdr = genlmsg_put(ntf, 0, 0, &netdev_nl_family, 0, cmd);
	if (!hdr || slice_fill(ntf, s, net)) {
		nlmsg_free(ntf);
		return NULL;
	}
	genlmsg_end(ntf, hdr);
	return ntf;
}

static void slice_ntf_send(struct net *net, struct sk_buff *ntf)
{
	if (ntf)
		genlmsg_multicast_netns(&netdev_nl_family, net, ntf, 0,
					NETDEV_NLGRP_MGMT, GFP_KERNEL);
}

static void slice_free(struct netdev_slice *s)
{
	unsigned int t;

	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++)
		kfree(s->map[t]);
	kfree(s);
}

static void slice_release_queues(struct netdev_slice *s)
{
	unsigned int t, i;

	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++)
		for (i = 0; i < s->max_queues; i++)
			slice_give_back(s, t, i);
}

/*
 * Undo everything netdev_slice_create() did after linking the slice in:
 * steering, parent queues, registry entry, id and parent reference.  The
 * slice netdevice itself is unregistering (or never registered) and is
 * freed by its owner.  The slice is closed and unlisted, and no frame is in
 * flight once synchronize_net() returned after the unsteer.
 */
static void netdev_slice_teardown(struct netdev_slice *s)
{
	struct net_device *parent = s->parent;
	struct netdev_qmgmt *pqm = parent->qmgmt;
	struct net *net = dev_net(parent);
	struct sk_buff *ntf = NULL;

	ASSERT_RTNL();
	if (s->announced)
		ntf = slice_ntf_build(s, NETDEV_CMD_SLICE_DEL_NTF);

	parent->queue_mgmt_ops->ndo_slice_unsteer(parent, s->dev);
	synchronize_net();
	slice_release_queues(s);

	list_del(&s->node);
	pqm->nslices--;
	ida_free(&pqm->slice_ida, s->id);
	WRITE_ONCE(s->dev->qmgmt->slice, NULL);
	netdev_put(parent, &s->parent_tracker);
	slice_free(s);

	slice_ntf_send(net, ntf);
}

static int slice_check_cfg(struct net_device *parent,
			   const struct netdev_slice_cfg *cfg,
			   struct netlink_ext_ack *extack)
{
	const struct netdev_queue_mgmt_ops *ops = parent->queue_mgmt_ops;
	unsigned int t, num;

	if (netdev_is_slice(parent)) {
		NL_SET_ERR_MSG(extack, "a slice cannot be the parent of a slice");
		return -EOPNOTSUPP;
	}
	if (!ops || !ops->ndo_slice_alloc || !ops->ndo_slice_steer ||
	    !ops->ndo_slice_unsteer || !ops->ndo_queue_alloc ||
	    !ops->ndo_queue_free) {
		NL_SET_ERR_MSG_FMT(extack,
				   "%s does not support slices (no ndo_slice_alloc/ndo_slice_steer)",
				   parent->name);
		return -EOPNOTSUPP;
	}
	if (parent->reg_state != NETREG_REGISTERED) {
		NL_SET_ERR_MSG(extack, "parent device is not registered");
		return -ENODEV;
	}
	if (!cfg->max_queues || cfg->max_queues > NETDEV_SLICE_MAX_QUEUES) {
		NL_SET_ERR_MSG_FMT(extack, "max-queues must be 1 to %u",
				   NETDEV_SLICE_MAX_QUEUES);
		return -ERANGE;
	}
	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++) {
		if (!cfg->nqueues[t]) {
			NL_SET_ERR_MSG_FMT(extack,
					   "a slice needs at least one %s queue",
					   slice_qtype_str[t]);
			return -EINVAL;
		}
		if (cfg->nqueues[t] > cfg->max_queues) {
			NL_SET_ERR_MSG_FMT(extack,
					   "%u %s queues exceed max-queues %u",
					   cfg->nqueues[t], slice_qtype_str[t],
					   cfg->max_queues);
			return -EINVAL;
		}
		num = t == NETDEV_QUEUE_TYPE_RX ? parent->num_rx_queues :
						  parent->num_tx_queues;
		if (cfg->max_queues > num) {
			NL_SET_ERR_MSG_FMT(extack,
					   "max-queues %u exceeds the %u %s queues of %s",
					   cfg->max_queues, num,
					   slice_qtype_str[t], parent->name);
			return -ERANGE;
		}
	}
	if (cfg->name) {
		if (!dev_valid_name(cfg->name)) {
			NL_SET_ERR_MSG(extack, "invalid slice name");
			return -EINVAL;
		}
		if (__dev_get_by_name(dev_net(parent), cfg->name)) {
			NL_SET_ERR_MSG_FMT(extack, "a device named %s already exists",
					   cfg->name);
			return -EEXIST;
		}
	}
	if (cfg->mac && !is_valid_ether_addr(cfg->mac)) {
		NL_SET_ERR_MSG(extack, "slice MAC must be a valid unicast address");
		return -EADDRNOTAVAIL;
	}
	return 0;
}

static struct netdev_slice *slice_new(unsigned int max_queues)
{
	struct netdev_slice *s;
	unsigned int t;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	INIT_LIST_HEAD(&s->node);
	s->max_queues = max_queues;
	s->steer_exclude = -1;
	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++) {
		s->map[t] = kmalloc_array(max_queues, sizeof(u16), GFP_KERNEL);
		if (!s->map[t]) {
			slice_free(s);
			return NULL;
		}
		memset(s->map[t], 0xff, max_queues * sizeof(u16));
	}
	return s;
}

/**
 * netdev_slice_create() - create a slice of a device
 * @parent:	parent netdevice
 * @cfg:	what to create
 * @extack:	netlink extended ack
 *
 * Allocates the slice's queues on @parent, has the driver create the slice
 * netdevice, registers it in @parent's namespace and steers it.  On error
 * nothing is left behind: no netdevice, no queue allocated on @parent.
 * Caller holds rtnl_lock.
 *
 * Return: the slice netdevice or an ERR_PTR().
 */
struct net_device *netdev_slice_create(struct net_device *parent,
				       const struct netdev_slice_cfg *cfg,
				       struct netlink_ext_ack *extack)
{
	const struct netdev_queue_mgmt_ops *ops = parent->queue_mgmt_ops;
	struct netdev_qmgmt *pqm, *sqm;
	struct netdev_slice *s;
	struct net_device *dev;
	unsigned int t, k;
	int err, pid;

	ASSERT_RTNL();
	err = slice_check_cfg(parent, cfg, extack);
	if (err)
		return ERR_PTR(err);
	pqm = netdev_qmgmt_get(parent);
	if (!pqm)
		return ERR_PTR(-ENOMEM);
	s = slice_new(cfg->max_queues);
	if (!s)
		return ERR_PTR(-ENOMEM);
	err = ida_alloc(&pqm->slice_ida, GFP_KERNEL);
	if (err < 0)
		goto err_free_slice;
	s->id = err;

	dev = ops->ndo_slice_alloc(parent, cfg, extack);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		goto err_free_id;
	}
	if (WARN_ON_ONCE(dev->num_rx_queues < cfg->max_queues ||
			 dev->num_tx_queues < cfg->max_queues)) {
		err = -EINVAL;
		goto err_free_netdev;
	}
	sqm = netdev_qmgmt_get(dev);
	if (!sqm) {
		err = -ENOMEM;
		goto err_free_netdev;
	}
	dev_net_set(dev, dev_net(parent));
	dev->queue_mgmt_ops = &netdev_slice_queue_ops;
	dev->rtnl_link_ops = &netdev_slice_link_ops;
	s->dev = dev;
	s->parent = parent;

	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++)
		for (k = 0; k < cfg->nqueues[t]; k++) {
			pid = netdev_queue_alloc(parent, t,
						 cfg->parent_ids[t] ?
						 cfg->parent_ids[t][k] : -1,
						 extack);
			if (pid < 0) {
				err = pid;
				goto err_release;
			}
			set_bit(pid, pqm->owned[t]);
			s->map[t][k] = pid;
		}
	err = netif_set_real_num_queues(dev, cfg->nqueues[NETDEV_QUEUE_TYPE_TX],
					cfg->nqueues[NETDEV_QUEUE_TYPE_RX]);
	if (err)
		goto err_release;

	/* From here on netdev_slice_teardown() undoes everything. */
	netdev_hold(parent, &s->parent_tracker, GFP_KERNEL);
	list_add_tail(&s->node, &pqm->slices);
	pqm->nslices++;
	WRITE_ONCE(sqm->slice, s);

	err = register_netdevice(dev);
	if (err) {
		NL_SET_ERR_MSG(extack, "failed to register the slice netdevice");
		/* A failed NETDEV_REGISTER notifier unregisters it at once. */
		if (sqm->slice)
			netdev_slice_teardown(s);
		free_netdev(dev);
		return ERR_PTR(err);
	}
	/* Unregistering it from now on frees it too. */
	dev->needs_free_netdev = true;

	err = ops->ndo_slice_steer(parent, dev, extack);
	if (err) {
		/* The NETDEV_UNREGISTER notifier tears the slice down. */
		unregister_netdevice(dev);
		return ERR_PTR(err);
	}

	s->announced = true;
	slice_ntf_send(dev_net(parent),
		       slice_ntf_build(s, NETDEV_CMD_SLICE_ADD_NTF));
	return dev;

err_release:
	slice_release_queues(s);
err_free_netdev:
	free_netdev(dev);
err_free_id:
	ida_free(&pqm->slice_ida, s->id);
err_free_slice:
	slice_free(s);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(netdev_slice_create);

static int netdev_slice_event(struct notifier_block *nb, unsigned long event,
			      void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct netdev_qmgmt *qm = dev->qmgmt;
	struct netdev_slice *s, *tmp;
	LIST_HEAD(kill);

	/* Moving to another netns sends NETDEV_UNREGISTER too; ignore it. */
	if (event != NETDEV_UNREGISTER || !qm ||
	    dev->reg_state != NETREG_UNREGISTERING)
		return NOTIFY_DONE;

	if (qm->slice) {
		netdev_slice_teardown(qm->slice);
		return NOTIFY_DONE;
	}
	if (list_empty(&qm->slices))
		return NOTIFY_DONE;

	/* The parent goes away: its slices go first. */
	list_for_each_entry(s, &qm->slices, node)
		if (s->dev->reg_state == NETREG_REGISTERED)
			unregister_netdevice_queue(s->dev, &kill);
	unregister_netdevice_many(&kill);
	/* Left: slices in the parent's own batch, already closed. */
	list_for_each_entry_safe(s, tmp, &qm->slices, node)
		netdev_slice_teardown(s);
	return NOTIFY_DONE;
}

static struct notifier_block netdev_slice_nb = {
	.notifier_call	= netdev_slice_event,
};

/* ---- netdev generic netlink: slice-create, slice-delete, slice-get ---- */

static int slice_parse_queues(struct genl_info *info,
			      struct netdev_slice_cfg *cfg, u32 **ids)
{
	struct nlattr *tb[NETDEV_A_SLICE_QUEUE_PARENT_ID + 1];
	unsigned int n[NETDEV_QMGMT_NTYPES] = {};
	struct nlattr *attr;
	int rem, err;
	u32 t;

	nlmsg_for_each_attr_type(attr, NETDEV_A_SLICE_QUEUE, info->nlhdr,
				 GENL_HDRLEN, rem) {
		err = nla_parse_nested(tb, NETDEV_A_SLICE_QUEUE_PARENT_ID, attr,
				       netdev_slice_queue_nl_policy,
				       info->extack);
		if (err)
			return err;
		if (NL_REQ_ATTR_CHECK(info->extack, attr, tb,
				      NETDEV_A_SLICE_QUEUE_TYPE) ||
		    NL_REQ_ATTR_CHECK(info->extack, attr, tb,
				      NETDEV_A_SLICE_QUEUE_PARENT_ID)) {
			NL_SET_ERR_MSG(info->extack,
				       "a queue entry needs type and parent-id");
			return -EINVAL;
		}
		t = nla_get_u32(tb[NETDEV_A_SLICE_QUEUE_TYPE]);
		if (n[t] == NETDEV_SLICE_MAX_QUEUES) {
			NL_SET_ERR_MSG_ATTR(info->extack, attr,
					    "too many queue entries");
			return -ERANGE;
		}
		if (!ids[t]) {
			ids[t] = kcalloc(NETDEV_SLICE_MAX_QUEUES, sizeof(u32),
					 GFP_KERNEL);
			if (!ids[t])
				return -ENOMEM;
		}
		ids[t][n[t]++] = nla_get_u32(tb[NETDEV_A_SLICE_QUEUE_PARENT_ID]);
	}
	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++) {
		cfg->nqueues[t] = n[t];
		cfg->parent_ids[t] = ids[t];
	}
	return 0;
}

static int slice_parse_cfg(struct genl_info *info, struct netdev_slice_cfg *cfg,
			   u32 **ids)
{
	struct nlattr **tb = info->attrs;
	int err;

	if (tb[NETDEV_A_SLICE_QUEUE]) {
		if (tb[NETDEV_A_SLICE_RX_QUEUES] || tb[NETDEV_A_SLICE_TX_QUEUES]) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[NETDEV_A_SLICE_QUEUE],
					    "give either queue entries or rx-queues/tx-queues");
			return -EINVAL;
		}
		err = slice_parse_queues(info, cfg, ids);
		if (err)
			return err;
	} else {
		if (GENL_REQ_ATTR_CHECK(info, NETDEV_A_SLICE_RX_QUEUES)) {
			NL_SET_ERR_MSG(info->extack, "missing attribute: rx-queues");
			return -EINVAL;
		}
		if (GENL_REQ_ATTR_CHECK(info, NETDEV_A_SLICE_TX_QUEUES)) {
			NL_SET_ERR_MSG(info->extack, "missing attribute: tx-queues");
			return -EINVAL;
		}
		cfg->nqueues[NETDEV_QUEUE_TYPE_RX] =
			nla_get_u32(tb[NETDEV_A_SLICE_RX_QUEUES]);
		cfg->nqueues[NETDEV_QUEUE_TYPE_TX] =
			nla_get_u32(tb[NETDEV_A_SLICE_TX_QUEUES]);
	}
	if (tb[NETDEV_A_SLICE_MAX_QUEUES])
		cfg->max_queues = nla_get_u32(tb[NETDEV_A_SLICE_MAX_QUEUES]);
	else
		cfg->max_queues = max(cfg->nqueues[NETDEV_QUEUE_TYPE_RX],
				      cfg->nqueues[NETDEV_QUEUE_TYPE_TX]);
	if (tb[NETDEV_A_SLICE_NAME])
		cfg->name = nla_data(tb[NETDEV_A_SLICE_NAME]);
	if (tb[NETDEV_A_SLICE_MAC])
		cfg->mac = nla_data(tb[NETDEV_A_SLICE_MAC]);
	return 0;
}

int netdev_nl_slice_create_doit(struct sk_buff *skb, struct genl_info *info)
{
	u32 *ids[NETDEV_QMGMT_NTYPES] = {};
	struct netdev_slice_cfg cfg = {};
	struct net *net = genl_info_net(info);
	struct net_device *parent, *dev;
	unsigned int t, ifindex;
	struct sk_buff *rsp;
	void *hdr;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, NETDEV_A_SLICE_PARENT_IFINDEX)) {
		NL_SET_ERR_MSG(info->extack, "missing attribute: parent-ifindex");
		return -EINVAL;
	}
	err = netdev_nl_ns_admin_check(skb, info, net);
	if (err)
		return err;
	err = slice_parse_cfg(info, &cfg, ids);
	if (err)
		goto out_free_ids;

	rtnl_lock();
	ifindex = nla_get_u32(info->attrs[NETDEV_A_SLICE_PARENT_IFINDEX]);
	parent = __dev_get_by_index(net, ifindex);
	if (!parent) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[NETDEV_A_SLICE_PARENT_IFINDEX],
				    "no such parent device");
		err = -ENODEV;
		goto out_unlock;
	}
	dev = netdev_slice_create(parent, &cfg, info->extack);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		goto out_unlock;
	}

	err = -ENOMEM;
	rsp = genlmsg_new(slice_msg_size(slice_of(dev)), GFP_KERNEL);
	if (!rsp)
		goto err_delete;
	hdr = genlmsg_iput(rsp, info);
	if (!hdr || slice_fill(rsp, slice_of(dev), net)) {
		nlmsg_free(rsp);
		err = -EMSGSIZE;
		goto err_delete;
	}
	genlmsg_end(rsp, hdr);
	rtnl_unlock();
	err = genlmsg_reply(rsp, info);
	goto out_free_ids;

err_delete:
	/* Leave nothing behind if the caller cannot learn what was made. */
	unregister_netdevice(dev);
out_unlock:
	rtnl_unlock();
out_free_ids:
	for (t = 0; t < NETDEV_QMGMT_NTYPES; t++)
		kfree(ids[t]);
	return err;
}

/* Find the slice a request names: ifindex, or parent-ifindex and id. */
static struct netdev_slice *slice_lookup(struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	struct net *net = genl_info_net(info);
	struct net_device *dev, *parent;
	struct netdev_slice *s;
	u32 id;

	if (tb[NETDEV_A_SLICE_IFINDEX]) {
		dev = __dev_get_by_index(net,
					 nla_get_u32(tb[NETDEV_A_SLICE_IFINDEX]));
		if (!dev) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[NETDEV_A_SLICE_IFINDEX],
					    "no such device");
			return ERR_PTR(-ENODEV);
		}
		s = slice_of(dev);
		if (!s) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[NETDEV_A_SLICE_IFINDEX],
					    "device is not a slice");
			return ERR_PTR(-EINVAL);
		}
		return s;
	}
	if (!tb[NETDEV_A_SLICE_PARENT_IFINDEX] || !tb[NETDEV_A_SLICE_ID]) {
		NL_SET_ERR_MSG(info->extack,
			       "missing attribute: ifindex, or parent-ifindex and id");
		return ERR_PTR(-EINVAL);
	}
	parent = __dev_get_by_index(net,
				    nla_get_u32(tb[NETDEV_A_SLICE_PARENT_IFINDEX]));
	if (!parent) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NETDEV_A_SLICE_PARENT_IFINDEX],
				    "no such parent device");
		return ERR_PTR(-ENODEV);
	}
	id = nla_get_u32(tb[NETDEV_A_SLICE_ID]);
	if (parent->qmgmt)
		list_for_each_entry(s, &parent->qmgmt->slices, node)
			if (s->id == id)
				return s;
	NL_SET_ERR_MSG_ATTR_FMT(info->extack, tb[NETDEV_A_SLICE_ID],
				"%s has no slice %u", parent->name, id);
	return ERR_PTR(-ENOENT);
}

int netdev_nl_slice_delete_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netdev_slice *s;
	int err = 0;

	rtnl_lock();
	s = slice_lookup(info);
	if (IS_ERR(s)) {
		err = PTR_ERR(s);
		goto out_unlock;
	}
	/* Deleting needs the same right as creating: over the parent. */
	err = netdev_nl_ns_admin_check(skb, info, dev_net(s->parent));
	if (err)
		goto out_unlock;
	unregister_netdevice(s->dev);
out_unlock:
	rtnl_unlock();
	return err;
}

int netdev_nl_slice_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct netdev_slice *s;
	struct sk_buff *rsp;
	void *hdr;
	int err;

	rtnl_lock();
	s = slice_lookup(info);
	if (IS_ERR(s)) {
		err = PTR_ERR(s);
		goto err_unlock;
	}
	err = -ENOMEM;
	rsp = genlmsg_new(slice_msg_size(s), GFP_KERNEL);
	if (!rsp)
		goto err_unlock;
	hdr = genlmsg_iput(rsp, info);
	if (!hdr || slice_fill(rsp, s, net)) {
		nlmsg_free(rsp);
		err = -EMSGSIZE;
		goto err_unlock;
	}
	genlmsg_end(rsp, hdr);
	rtnl_unlock();
	return genlmsg_reply(rsp, info);

err_unlock:
	rtnl_unlock();
	return err;
}

struct netdev_slice_dump_ctx {
	unsigned long	ifindex;
	unsigned int	pos;
};

static int slice_dump_one(struct sk_buff *skb, struct netlink_callback *cb,
			  struct netdev_slice *s)
{
	const struct genl_info *info = genl_info_dump(cb);
	void *hdr;

	hdr = genlmsg_iput(skb, info);
	if (!hdr)
		return -EMSGSIZE;
	if (slice_fill(skb, s, sock_net(skb->sk))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Dump the slices of one device: its own record if it is a slice whose
 * parent lives in another namespace (the parent's entry covers it
 * otherwise), or the slices it is the parent of.  ctx->pos counts what was
 * already sent of this device.
 */
static int slice_dump_dev(struct sk_buff *skb, struct netlink_callback *cb,
			  struct net_device *dev, u32 filter)
{
	struct netdev_slice_dump_ctx *ctx = (void *)cb->ctx;
	struct net *net = sock_net(skb->sk);
	struct netdev_slice *s = slice_of(dev);
	unsigned int i = 0;
	int err;

	if (s) {
		if (filter || net_eq(net, dev_net(s->parent)) || ctx->pos)
			return 0;
		err = slice_dump_one(skb, cb, s);
		if (!err)
			ctx->pos = 1;
		return err;
	}
	if (!dev->qmgmt || (filter && dev->ifindex != filter))
		return 0;
	list_for_each_entry(s, &dev->qmgmt->slices, node) {
		if (i++ < ctx->pos)
			continue;
		err = slice_dump_one(skb, cb, s);
		if (err)
			return err;
		ctx->pos = i;
	}
	return 0;
}

int netdev_nl_slice_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct netdev_slice_dump_ctx *ctx = (void *)cb->ctx;
	const struct genl_info *info = genl_info_dump(cb);
	struct net *net = sock_net(skb->sk);
	struct net_device *dev;
	u32 filter = 0;
	int err = 0;

	NL_ASSERT_DUMP_CTX_FITS(struct netdev_slice_dump_ctx);
	if (info->attrs[NETDEV_A_SLICE_PARENT_IFINDEX])
		filter = nla_get_u32(info->attrs[NETDEV_A_SLICE_PARENT_IFINDEX]);

	rtnl_lock();
	if (filter && !__dev_get_by_index(net, filter)) {
		NL_SET_ERR_MSG_ATTR(cb->extack,
				    info->attrs[NETDEV_A_SLICE_PARENT_IFINDEX],
				    "no such parent device");
		err = -ENODEV;
		goto out_unlock;
	}
	for_each_netdev_dump(net, dev, ctx->ifindex) {
		err = slice_dump_dev(skb, cb, dev, filter);
		if (err)
			break;
		ctx->pos = 0;
	}
out_unlock:
	rtnl_unlock();
	return err;
}

static int __init netdev_slice_init(void)
{
	return register_netdevice_notifier(&netdev_slice_nb);
}
device_initcall(netdev_slice_init);
