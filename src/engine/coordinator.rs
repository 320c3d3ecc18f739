//! The coordinator thread: it owns the device queues and the devices kept
//! open between jobs, starts a worker per job (one job per device at a
//! time), routes cancels and answers to running jobs, hands studio work
//! (re-renders, tiles, export) to its thread, and runs device searches.

use super::*;

pub(super) struct Coordinator {
    pub(super) config: EngineConfig,
    pub(super) sink: EventSink,
    pub(super) stats: EngineStats,
    pub(super) commands: Sender<Internal>,
    pub(super) busy: HashMap<String, JobId>,
    pub(super) queues: HashMap<String, VecDeque<Pending>>,
    pub(super) running: Arc<Mutex<HashMap<JobId, JobControl>>>,
    pub(super) workers: Vec<thread::JoinHandle<()>>,
    /// Devices kept open between jobs (a device is used by one job at a
    /// time: it is taken out while a job runs).
    pub(super) devices: HashMap<String, Box<dyn Driver>>,
    pub(super) cache: Arc<Mutex<PreviewCache>>,
    pub(super) building: tiles::BuildingPages,
    pub(super) studio: Option<Sender<studio::StudioWork>>,
    pub(super) studio_thread: Option<thread::JoinHandle<()>>,
    /// The device search in progress: its round and how to stop it.
    pub(super) discovery: (u64, CancelToken),
}

impl Coordinator {
    pub(super) fn run(mut self, commands: Receiver<Internal>) {
        while let Ok(message) = commands.recv() {
            match message {
                Internal::Front(command) => self.command(command),
                Internal::Finished {
                    device,
                    job,
                    driver,
                } => {
                    if let Some(driver) = driver {
                        self.devices.insert(device.clone(), driver);
                    }
                    self.lock_running().remove(&job);
                    if self.busy.get(&device) == Some(&job) {
                        self.busy.remove(&device);
                    }
                    self.start_next(&device);
                }
                Internal::Shutdown => break,
            }
            self.workers.retain(|w| !w.is_finished());
        }
        self.discovery.1.cancel();
        for control in self.lock_running().values() {
            control.cancel.cancel();
        }
        for worker in self.workers.drain(..) {
            let _joined = worker.join();
        }
        self.studio = None;
        if let Some(studio) = self.studio_thread.take() {
            let _joined = studio.join();
        }
    }

    fn studio(&self, work: studio::StudioWork) {
        if let Some(studio) = &self.studio {
            let _gone = studio.send(work);
        }
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, JobControl>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Scan {
                job,
                device,
                settings,
                output,
                interactive,
            } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::Scan {
                        settings,
                        output,
                        interactive,
                        regions: None,
                    },
                },
            ),
            Command::ScanRegions {
                job,
                device,
                settings,
                output,
                interactive,
                detected,
            } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::Scan {
                        settings,
                        output,
                        interactive,
                        regions: Some(if detected {
                            Regions::Detected
                        } else {
                            Regions::Find
                        }),
                    },
                },
            ),
            Command::Upload {
                job,
                device,
                files,
                folder,
            } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::Upload { files, folder },
                },
            ),
            Command::Download {
                job,
                device,
                item,
                path,
                overwrite,
            } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::Download {
                        item,
                        path,
                        overwrite,
                    },
                },
            ),
            Command::ListItems { job, device } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::ListItems,
                },
            ),
            Command::Cancel { job } => {
                if let Some(control) = self.lock_running().get(&job) {
                    control.cancel.cancel();
                    return;
                }
                for queue in self.queues.values_mut() {
                    if let Some(index) = queue.iter().position(|p| p.job == job) {
                        queue.remove(index);
                        self.sink.send(Event::JobFinished {
                            job,
                            result: Ok(JobSummary {
                                outcome: Outcome::Cancelled,
                                totals: Totals::default(),
                                files: Vec::new(),
                            }),
                        });
                        return;
                    }
                }
            }
            Command::StopAfterPage { job } => {
                if let Some(control) = self.lock_running().get(&job) {
                    control.stop_after_page.store(true, Ordering::SeqCst);
                }
            }
            Command::RenderPreview {
                request,
                key,
                settings,
                max_width,
                max_height,
            } => self.studio(studio::StudioWork::Preview {
                request,
                key,
                settings,
                max_width,
                max_height,
            }),
            Command::Export {
                job,
                pages,
                settings,
                format,
                quality,
                output,
            } => self.studio(studio::StudioWork::Export {
                job,
                pages,
                settings,
                format,
                quality,
                output,
            }),
            Command::RenderTile {
                request,
                key,
                tile,
                settings,
            } => self.studio(studio::StudioWork::Tile {
                request,
                key,
                spec: tile,
                settings,
            }),
            Command::DetectRegions { job, device, key } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::DetectRegions { key },
                },
            ),
            Command::ForgetPages { key } => self.studio(studio::StudioWork::Forget { key }),
            Command::Discover => self.discover(),
            Command::Answer {
                job,
                question,
                answer,
            } => {
                if let Some(control) = self.lock_running().get(&job) {
                    let _late = control.answers.send((question, answer));
                }
            }
        }
    }

    /// Starts a device search, abandoning the one before.
    fn discover(&mut self) {
        self.discovery.1.cancel();
        let round = self.discovery.0 + 1;
        let cancel = CancelToken::new();
        self.discovery = (round, cancel.clone());
        self.sink.send(Event::DiscoveryStarted {
            round,
            backends: self.config.registry.prefixes(),
        });
        let sink = self.sink.clone();
        self.config.registry.discover(
            &cancel,
            Arc::new(move |event| {
                sink.send(match event {
                    DiscoveryEvent::Found { backend, device } => Event::DeviceFound {
                        round,
                        backend,
                        device,
                    },
                    DiscoveryEvent::Finished { backend, error } => Event::DiscoveryFinished {
                        round,
                        backend,
                        error,
                    },
                })
            }),
        );
    }

    fn enqueue(&mut self, device: String, pending: Pending) {
        let queue = self.queues.entry(device.clone()).or_default();
        queue.push_back(pending);
        if self.busy.contains_key(&device) {
            let ahead = queue.len();
            let job = queue.back().map(|p| p.job).unwrap_or_default();
            self.sink.send(Event::JobQueued { job, device, ahead });
        } else {
            self.start_next(&device);
        }
    }

    fn start_next(&mut self, device: &str) {
        let Some(pending) = self.queues.get_mut(device).and_then(VecDeque::pop_front) else {
            return;
        };
        let job = pending.job;
        let (answer_tx, answer_rx) = bounded(16);
        let control = JobControl {
            cancel: CancelToken::new(),
            stop_after_page: Arc::new(AtomicBool::new(false)),
            answers: answer_tx.clone(),
        };
        // A cancel wakes a job that waits for a person's answer.
        control.cancel.on_cancel(move || {
            let _late = answer_tx.try_send((0, StatusAnswer::Cancel));
        });
        let worker = job::Worker {
            job,
            device: device.to_string(),
            config: self.config.clone(),
            sink: self.sink.clone(),
            stats: self.stats.clone(),
            cancel: control.cancel.clone(),
            stop_after_page: control.stop_after_page.clone(),
            answers: answer_rx,
            cache: (self.config.cache_pages > 0).then(|| self.cache.clone()),
            building: self.building.clone(),
        };
        let driver = self.devices.remove(device);
        self.lock_running().insert(job, control);
        self.busy.insert(device.to_string(), job);
        let done = self.commands.clone();
        let device_name = device.to_string();
        let spawned = thread::Builder::new()
            .name(format!("streamscan-job-{job}"))
            .spawn(move || {
                let driver = worker.run(pending.work, driver);
                let _gone = done.send(Internal::Finished {
                    device: device_name,
                    job,
                    driver,
                });
            });
        match spawned {
            Ok(handle) => self.workers.push(handle),
            Err(e) => {
                self.lock_running().remove(&job);
                self.busy.remove(device);
                self.sink.send(Event::JobFinished {
                    job,
                    result: Err(TransferError {
                        code: crate::transfer::StatusCode::GENERAL_ERROR,
                        page: None,
                        pages_completed: 0,
                        message: format!("cannot start a worker thread: {e}"),
                    }),
                });
            }
        }
    }
}
