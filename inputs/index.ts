// Checks of a story's supplied inputs (keyframe images, audio), shared by the client library (local files, before a
// story starts) and the media activities (every input, before the first paid call): one set of rules at both doors.
export {
  ACCEPTED_FORMATS,
  checkImageFile,
  imageRefusal,
  inspectImageFile,
  MAX_INPUT_PIXELS,
  SAFE_IMAGE_INPUT,
  type InputImage,
} from './images';
export {
  AUDIO_DEMUXERS,
  checkAudioFile,
  DEFAULT_MAX_AUDIO_SECONDS,
  type AudioCheckOptions,
  type InputAudio,
} from './audio';
